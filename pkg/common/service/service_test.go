package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/events"
)

// recorder records the events emitted through it.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	relName := ""
	if o, ok := related.(client.Object); ok {
		relName = o.GetName()
	}
	r.events = append(r.events, fmt.Sprintf("%s %s %s related=%s: %s", eventtype, reason, action, relName, fmt.Sprintf(note, args...)))
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func testSpec(owner client.Object) Spec {
	return Spec{
		Name:       "volsync-rsync-tls-dst-" + owner.GetName(),
		Owner:      owner,
		Selector:   map[string]string{"app.kubernetes.io/name": "dst-" + owner.GetName(), "app.kubernetes.io/component": "rsync-tls-mover"},
		PortName:   "rsync-tls",
		Port:       8000,
		TargetPort: 8000,
	}
}

type fixture struct {
	ctx   context.Context
	t     *testing.T
	c     *countingClient
	rec   *recorder
	clk   *clocktesting.FakeClock
	owner client.Object
}

func newFixture(t *testing.T) *fixture {
	ctx := testContext(t)
	ns := newNamespace(ctx, t)
	f := &fixture{ctx: ctx, t: t, c: &countingClient{Client: env.Client}, rec: &recorder{}, clk: clocktesting.NewFakeClock(time.Now())}
	f.owner = newOwner(ctx, t, ns, "rd")
	return f
}

func (f *fixture) ensure(s Spec, prev string) (string, time.Duration) {
	f.t.Helper()
	addr, requeue, err := Ensure(f.ctx, f.c, events.For(f.rec, f.owner), f.clk, s, prev)
	if err != nil {
		f.t.Fatalf("Ensure: %v", err)
	}
	return addr, requeue
}

func (f *fixture) get(name string) *corev1.Service {
	f.t.Helper()
	svc := &corev1.Service{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.owner.GetNamespace(), Name: name}, svc); err != nil {
		f.t.Fatalf("reading Service: %v", err)
	}
	return svc
}

func TestEnsureClusterIP(t *testing.T) {
	f := newFixture(t)
	s := testSpec(f.owner)
	addr, requeue := f.ensure(s, "")
	if net.ParseIP(addr) == nil || requeue != 0 {
		t.Fatalf("Ensure = %q, %v; want the ClusterIP, no requeue", addr, requeue)
	}
	svc := f.get(s.Name)
	if addr != svc.Spec.ClusterIP {
		t.Errorf("address %s, ClusterIP %s", addr, svc.Spec.ClusterIP)
	}
	if !metav1.IsControlledBy(svc, f.owner) || svc.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue {
		t.Errorf("ownership/labels wrong: %+v", svc.ObjectMeta)
	}
	if len(svc.Annotations) != 0 {
		t.Errorf("annotations = %v, want none for ClusterIP", svc.Annotations)
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Ports) != 1 ||
		svc.Spec.Ports[0].Name != "rsync-tls" || svc.Spec.Ports[0].Port != 8000 || svc.Spec.Ports[0].TargetPort.IntVal != 8000 ||
		svc.Spec.Ports[0].Protocol != corev1.ProtocolTCP || svc.Spec.Selector["app.kubernetes.io/name"] != "dst-rd" {
		t.Errorf("spec = %+v", svc.Spec)
	}
	want := []string{"Normal ServiceAddressAssigned AssignAddress related=" + s.Name + ": listening on address " + addr + " for incoming connections"}
	if got := f.rec.take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events = %q, want %q", got, want)
	}

	// At rest: no write, no event, resourceVersion unchanged.
	f.c.Reset()
	again, _ := f.ensure(s, addr)
	if again != addr {
		t.Errorf("address changed %s -> %s", addr, again)
	}
	if n := f.c.Writes(); n != 0 {
		t.Errorf("second Ensure made %d writes", n)
	}
	if rv := f.get(s.Name).ResourceVersion; rv != svc.ResourceVersion {
		t.Errorf("resourceVersion changed %s -> %s", svc.ResourceVersion, rv)
	}
	if got := f.rec.take(); len(got) != 0 {
		t.Errorf("events at rest: %q", got)
	}
}

// TestEnsureInternal: the controller's own Service (a mover's API) gets its address without
// the events that tell users where to connect.
func TestEnsureInternal(t *testing.T) {
	f := newFixture(t)
	s := testSpec(f.owner)
	s.Internal = true
	addr, _ := f.ensure(s, "")
	if net.ParseIP(addr) == nil {
		t.Fatalf("Ensure = %q, want the ClusterIP", addr)
	}
	if got := f.rec.take(); len(got) != 0 {
		t.Errorf("events for an internal Service: %q", got)
	}
}

func TestEnsureLoadBalancer(t *testing.T) {
	f := newFixture(t)
	s := testSpec(f.owner)
	s.Type = ptr.To(corev1.ServiceTypeLoadBalancer)

	addr, requeue := f.ensure(s, "")
	if addr != "" {
		t.Fatalf("address = %q before any load balancer exists", addr)
	}
	if requeue <= AddressTimeout-2*time.Second || requeue > AddressTimeout {
		t.Errorf("requeueAfter = %v, want about %v", requeue, AddressTimeout)
	}
	svc := f.get(s.Name)
	if svc.Annotations[AWSLoadBalancerTypeAnnotation] != AWSLoadBalancerTypeNLB {
		t.Errorf("annotations = %v, want the nlb default", svc.Annotations)
	}
	if svc.Spec.Ports[0].NodePort == 0 {
		t.Errorf("no node port allocated: %+v", svc.Spec.Ports)
	}
	if got := f.rec.take(); len(got) != 0 {
		t.Errorf("events before the deadline: %q", got)
	}

	// Past the deadline: one warning, marked on the Service (one write), not repeated, and
	// no write at rest.
	f.clk.Step(AddressTimeout + time.Second)
	for i := range 2 {
		f.c.Reset()
		if addr, requeue = f.ensure(s, ""); addr != "" || requeue != 0 {
			t.Fatalf("Ensure = %q, %v; want \"\", 0", addr, requeue)
		}
		if n, want := f.c.Writes(), 1-i; n != want {
			t.Errorf("call %d: Ensure made %d writes, want %d", i, n, want)
		}
	}
	want := []string{"Warning NoServiceAddressAssigned AssignAddress related=" + s.Name +
		": waiting for an address to be assigned to Service/" + s.Name + "; ensure the proper serviceType was specified"}
	if got := f.rec.take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events = %q, want %q", got, want)
	}

	// A load balancer controller publishes an ingress.
	svc = f.get(s.Name)
	orig := svc.DeepCopy()
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}, {Hostname: "lb.example.com"}}
	if err := env.Client.Status().Patch(f.ctx, svc, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	if addr, requeue = f.ensure(s, ""); addr != "192.0.2.10" || requeue != 0 {
		t.Fatalf("Ensure = %q, %v; want the first ingress", addr, requeue)
	}
	want = []string{"Normal ServiceAddressAssigned AssignAddress related=" + s.Name + ": listening on address 192.0.2.10 for incoming connections"}
	if got := f.rec.take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if addr, _ = f.ensure(s, addr); addr != "192.0.2.10" {
		t.Fatal(addr)
	}
	if got := f.rec.take(); len(got) != 0 {
		t.Errorf("events with an unchanged address: %q", got)
	}
}

func TestEnsureUpdatesInPlace(t *testing.T) {
	f := newFixture(t)
	s := testSpec(f.owner)
	s.Type = ptr.To(corev1.ServiceTypeLoadBalancer)
	s.Annotations = &map[string]string{"example.com/lb": "internal"}
	f.ensure(s, "")
	svc := f.get(s.Name)
	if _, ok := svc.Annotations[AWSLoadBalancerTypeAnnotation]; ok || svc.Annotations["example.com/lb"] != "internal" {
		t.Fatalf("annotations = %v, want only the user's", svc.Annotations)
	}

	// Someone else adds a label and an annotation, and edits ours.
	orig := svc.DeepCopy()
	svc.Labels["team"] = "storage"
	svc.Annotations["other.example.com/x"] = "y"
	svc.Annotations["example.com/lb"] = "public"
	svc.Spec.Selector = map[string]string{"app": "wrong"}
	if err := env.Client.Patch(f.ctx, svc, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}

	// Switch to ClusterIP with a new port.
	s.Type = nil
	s.Port = 9000
	f.ensure(s, "")
	got := f.get(s.Name)
	if got.UID != svc.UID || got.Spec.ClusterIP != svc.Spec.ClusterIP {
		t.Errorf("Service recreated or ClusterIP changed: %s/%s -> %s/%s", svc.UID, svc.Spec.ClusterIP, got.UID, got.Spec.ClusterIP)
	}
	if got.Spec.Type != corev1.ServiceTypeClusterIP || got.Spec.Ports[0].Port != 9000 || got.Spec.Ports[0].NodePort != 0 {
		t.Errorf("spec = %+v", got.Spec)
	}
	if got.Spec.Selector["app.kubernetes.io/name"] != "dst-rd" || got.Spec.Selector["app"] != "" {
		t.Errorf("selector = %v", got.Spec.Selector)
	}
	if got.Labels["team"] != "storage" || got.Annotations["other.example.com/x"] != "y" || got.Annotations["example.com/lb"] != "internal" {
		t.Errorf("metadata = %v %v", got.Labels, got.Annotations)
	}

	// Back to LoadBalancer: a node port is allocated again and kept on later calls.
	s.Type = ptr.To(corev1.ServiceTypeLoadBalancer)
	f.ensure(s, "")
	lb := f.get(s.Name)
	if lb.Spec.Ports[0].NodePort == 0 {
		t.Fatalf("no node port: %+v", lb.Spec.Ports)
	}
	f.c.Reset()
	f.ensure(s, "")
	if n := f.c.Writes(); n != 0 {
		t.Errorf("Ensure made %d writes at rest", n)
	}
	if f.get(s.Name).ResourceVersion != lb.ResourceVersion {
		t.Error("resourceVersion changed at rest")
	}
}

func TestEnsureErrors(t *testing.T) {
	f := newFixture(t)
	s := testSpec(f.owner)
	foreign := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.owner.GetNamespace(), Name: s.Name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if err := env.Client.Create(f.ctx, foreign); err != nil {
		t.Fatal(err)
	}
	_, _, err := Ensure(f.ctx, f.c, events.For(f.rec, f.owner), f.clk, s, "")
	if !errors.Is(err, ErrNotOwned) {
		t.Fatalf("err = %v, want ErrNotOwned", err)
	}
	if got := f.get(s.Name); len(got.OwnerReferences) != 0 || got.ResourceVersion != foreign.ResourceVersion {
		t.Errorf("foreign Service modified")
	}

	s.Name = "other"
	s.Type = ptr.To(corev1.ServiceTypeExternalName)
	if _, _, err := Ensure(f.ctx, f.c, events.For(f.rec, f.owner), f.clk, s, ""); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("err = %v, want ErrUnsupportedType", err)
	}
}

func TestDesiredAnnotations(t *testing.T) {
	lb := ptr.To(corev1.ServiceTypeLoadBalancer)
	tests := []struct {
		name string
		s    Spec
		want map[string]string
	}{
		{"cluster IP, nil", Spec{}, nil},
		{"load balancer, nil", Spec{Type: lb}, map[string]string{AWSLoadBalancerTypeAnnotation: "nlb"}},
		{"load balancer, empty", Spec{Type: lb, Annotations: &map[string]string{}}, map[string]string{}},
		{"cluster IP, set", Spec{Annotations: &map[string]string{"a": "b"}}, map[string]string{"a": "b"}},
	}
	for _, tt := range tests {
		if got := tt.s.DesiredAnnotations(); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAddressAndWarnAfter(t *testing.T) {
	lb := func(in ...corev1.LoadBalancerIngress) *corev1.Service {
		return &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.0.0.1"},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: in}}}
	}
	tests := []struct {
		svc  *corev1.Service
		want string
	}{
		{&corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.0.0.1"}}, "10.0.0.1"},
		{&corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone}}, ""},
		{lb(), ""},
		{lb(corev1.LoadBalancerIngress{Hostname: "h", IP: "1.2.3.4"}), "h"},
		{lb(corev1.LoadBalancerIngress{}, corev1.LoadBalancerIngress{IP: "1.2.3.4"}), "1.2.3.4"},
	}
	for i, tt := range tests {
		if got := Address(tt.svc); got != tt.want {
			t.Errorf("%d: Address = %q, want %q", i, got, tt.want)
		}
	}

	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)}}
	for _, c := range []struct {
		after, want time.Duration
	}{{0, AddressTimeout}, {10 * time.Second, 5 * time.Second}, {AddressTimeout, 0}, {time.Hour, 0}} {
		if got := WarnAfter(svc, created.Add(c.after)); got != c.want {
			t.Errorf("WarnAfter(+%v) = %v, want %v", c.after, got, c.want)
		}
	}
}

// TestAddressWarningStateLivesOnTheService: whether the NoServiceAddressAssigned warning was
// sent is kept on the Service itself, so it goes away with the Service (the controller keeps
// nothing per Service) and survives a controller restart; an address re-arms the warning.
func TestAddressWarningStateLivesOnTheService(t *testing.T) {
	f := newFixture(t)
	s := testSpec(f.owner)
	s.Type = ptr.To(corev1.ServiceTypeLoadBalancer)
	f.ensure(s, "")
	if _, sent := f.get(s.Name).Annotations[AddressWarningAnnotation]; sent {
		t.Fatal("marked as warned before the deadline")
	}
	f.clk.Step(AddressTimeout + time.Second)
	f.ensure(s, "")
	if _, sent := f.get(s.Name).Annotations[AddressWarningAnnotation]; !sent {
		t.Fatalf("the warning is not recorded on the Service: %v", f.get(s.Name).Annotations)
	}
	if n := len(f.rec.take()); n != 1 {
		t.Fatalf("%d events, want the warning", n)
	}

	svc := f.get(s.Name)
	orig := svc.DeepCopy()
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.20"}}
	if err := env.Client.Status().Patch(f.ctx, svc, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	if addr, _ := f.ensure(s, ""); addr != "192.0.2.20" {
		t.Fatalf("address = %q", addr)
	}
	if _, sent := f.get(s.Name).Annotations[AddressWarningAnnotation]; sent {
		t.Fatal("an assigned address must re-arm the warning")
	}
	// The address goes away again: warned again, once.
	svc = f.get(s.Name)
	orig = svc.DeepCopy()
	svc.Status.LoadBalancer.Ingress = nil
	if err := env.Client.Status().Patch(f.ctx, svc, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	f.rec.take()
	for range 2 {
		f.ensure(s, "192.0.2.20")
	}
	if got := f.rec.take(); len(got) != 1 {
		t.Fatalf("events after the address went away: %q, want one warning", got)
	}
}
