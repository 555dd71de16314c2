package syncthing

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// newSource creates a ReplicationSource syncing a new PVC "data" of ns.
func newSource(t *testing.T, ns, name string, spec v1alpha1.ReplicationSourceSyncthingSpec) *v1alpha1.ReplicationSource {
	t.Helper()
	h.SourcePVC(t, ns, "data")
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.ReplicationSourceSpec{SourcePVC: "data", Syncthing: &spec},
	}
	h.Create(t, rs)
	return rs
}

func waitDeployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	lifecycle.Eventually(t, "Deployment "+name, func() error { return h.Get(lifecycle.Context(t), ns, name, d) })
	return d
}

// TestObjects checks what a new ReplicationSource gets: the Deployment (restricted pod, the
// reference's environment and mounts), the config PVC, the generated Secret and the Services.
func TestObjects(t *testing.T) {
	ctx := lifecycle.Context(t)
	ns := h.Namespace(t, nil)
	rs := newSource(t, ns, "objects", v1alpha1.ReplicationSourceSyncthingSpec{
		ServiceType: ptr.To(corev1.ServiceTypeNodePort), ConfigCapacity: ptr.To(resource.MustParse("2Gi")),
	})
	n := namesOf(rs.Name)
	d := waitDeployment(t, ns, "volsync-objects")
	if got := ptr.Deref(d.Spec.Replicas, 0); got != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("replicas %d strategy %s, want 1 Recreate", got, d.Spec.Strategy.Type)
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if c.Name != "syncthing" || c.Image != testImage || strings.Join(c.Args, " ") != "run" {
		t.Errorf("container %s image %s args %v", c.Name, c.Image, c.Args)
	}
	env := lifecycle.EnvOf(c)
	for k, v := range map[string]string{
		"SYNCTHING_CONFIG_DIR": "/mover-syncthing/config", "SYNCTHING_DATA_DIR": "/data", "SYNCTHING_CERT_DIR": "/certs",
		"PRIVILEGED_MOVER": "0",
	} {
		if env[k] != v {
			t.Errorf("env %s=%q, want %q", k, env[k], v)
		}
	}
	var keyRef *corev1.SecretKeySelector
	for _, e := range c.Env {
		if e.Name == "STGUIAPIKEY" && e.ValueFrom != nil {
			keyRef = e.ValueFrom.SecretKeyRef
		}
	}
	if keyRef == nil || keyRef.Name != "volsync-objects" || keyRef.Key != "apikey" {
		t.Errorf("STGUIAPIKEY must come from Secret volsync-objects key apikey, got %+v", keyRef)
	}
	if lim := c.Resources.Limits[corev1.ResourceMemory]; lim.String() != "1Gi" {
		t.Errorf("default memory limit %s, want 1Gi", lim.String())
	}
	if sc := pod.SecurityContext; sc == nil || !ptr.Deref(sc.RunAsNonRoot, false) || ptr.Deref(sc.RunAsUser, 0) != 65534 || ptr.Deref(sc.FSGroup, 0) != 65534 {
		t.Errorf("pod security context %+v: want non-root uid 65534 with fsGroup 65534", sc)
	}
	if csc := c.SecurityContext; csc == nil || ptr.Deref(csc.AllowPrivilegeEscalation, true) || len(csc.Capabilities.Add) > 0 {
		t.Errorf("container security context %+v: want no escalation, no capabilities", csc)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	claims := map[string]string{}
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim != nil {
			claims[v.Name] = v.PersistentVolumeClaim.ClaimName
		}
	}
	if claims[mounts["/data"]] != "data" || claims[mounts["/mover-syncthing/config"]] != "volsync-objects-config" || mounts["/certs"] == "" {
		t.Errorf("mounts %v claims %v", mounts, claims)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["api"] != 8384 || ports["data"] != 22000 {
		t.Errorf("ports %v", ports)
	}

	pvc := &corev1.PersistentVolumeClaim{}
	lifecycle.Must(t, h.Get(ctx, ns, n.Config, pvc))
	if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.String() != "2Gi" || ptr.Deref(pvc.Spec.StorageClassName, "") != lifecycle.StorageClass {
		t.Errorf("config PVC %s of class %v, want 2Gi of the source's class", got.String(), pvc.Spec.StorageClassName)
	}
	secret := &corev1.Secret{}
	lifecycle.Must(t, h.Get(ctx, ns, n.Secret, secret))
	for _, k := range []string{"apikey", "username", "password", "httpsCertPEM", "httpsKeyPEM"} {
		if len(secret.Data[k]) == 0 {
			t.Errorf("Secret %s has no %s", n.Secret, k)
		}
	}
	api, data := &corev1.Service{}, &corev1.Service{}
	lifecycle.Must(t, h.Get(ctx, ns, "volsync-objects-api", api))
	lifecycle.Must(t, h.Get(ctx, ns, "volsync-objects-data", data))
	if api.Spec.Type != corev1.ServiceTypeClusterIP || api.Spec.Ports[0].Port != 8384 {
		t.Errorf("API Service %s port %d", api.Spec.Type, api.Spec.Ports[0].Port)
	}
	if data.Spec.Type != corev1.ServiceTypeNodePort || data.Spec.Ports[0].Port != 22000 {
		t.Errorf("data Service %s port %d", data.Spec.Type, data.Spec.Ports[0].Port)
	}
	// Until the pod is ready the object says what it waits for, without an error.
	cur := waitCondition(t, rs, "the syncthing pod to be ready", lifecycle.WaitTimeout)
	if reason, _ := condition(cur); reason != v1alpha1.SynchronizingReasonSync {
		t.Errorf("reason %s while the pod starts", reason)
	}
}

// TestPeersInSync runs two ReplicationSources with real syncthing processes: the controller
// configures them through their APIs from the spec, the status shows their IDs and the
// connection, the condition and the metric follow the data being in sync, files propagate,
// and a peer that goes away is reported per peer.
func TestPeersInSync(t *testing.T) {
	hostname, err := os.Hostname() // each syncthing's own device name
	if err != nil {
		t.Fatal(err)
	}
	a := newSource(t, h.Namespace(t, nil), "east", v1alpha1.ReplicationSourceSyncthingSpec{})
	b := newSource(t, h.Namespace(t, nil), "west", v1alpha1.ReplicationSourceSyncthingSpec{})
	pa, pb := startPeer(t, a), startPeer(t, b)

	// Running, with no peers: the ID and address are published, out of sync.
	var ida, idb string
	for _, x := range []struct {
		rs *v1alpha1.ReplicationSource
		id *string
	}{{a, &ida}, {b, &idb}} {
		cur := waitCondition(t, x.rs, "no peers configured", 20*time.Second)
		st := cur.Status.Syncthing
		dataSvc := &corev1.Service{}
		lifecycle.Must(t, h.Get(lifecycle.Context(t), x.rs.Namespace, namesOf(x.rs.Name).Data, dataSvc))
		if st == nil || len(st.ID) != 63 || st.Address != "tcp://"+dataSvc.Spec.ClusterIP+":22000" {
			t.Fatalf("status.syncthing %+v, want the device ID and tcp://%s:22000", st, dataSvc.Spec.ClusterIP)
		}
		*x.id = st.ID
		if got := h.Metric(t, "volsync_volume_out_of_sync", map[string]string{"obj_name": x.rs.Name, "obj_namespace": x.rs.Namespace}); got != 1 {
			t.Errorf("volsync_volume_out_of_sync of %s = %v, want 1", x.rs.Name, got)
		}
	}

	// Peered: connected, in sync.
	setPeers(t, a, v1alpha1.SyncthingPeer{ID: idb, Address: pb.listen})
	setPeers(t, b, v1alpha1.SyncthingPeer{ID: ida, Address: pa.listen})
	for _, x := range []struct {
		rs   *v1alpha1.ReplicationSource
		peer string
	}{{a, idb}, {b, ida}} {
		cur := waitCondition(t, x.rs, "the data is in sync", syncTimeout)
		if cur.Status.LastSyncTime == nil {
			t.Errorf("%s: in sync without lastSyncTime", x.rs.Name)
		}
		peers := cur.Status.Syncthing.Peers
		// A peer's name is what it said in its hello, which syncthing sends only to devices it
		// already knows: peers configured at the same moment may connect before that and
		// stay nameless until they reconnect. So the name is the peer's hostname or empty.
		if len(peers) != 1 || peers[0].ID != x.peer || !peers[0].Connected || !strings.HasPrefix(peers[0].Address, "tcp://127.0.0.1:") ||
			(peers[0].Name != "" && peers[0].Name != hostname) {
			t.Errorf("%s: status.syncthing.peers %+v, want %s connected from loopback, named %q or not yet", x.rs.Name, peers, x.peer, hostname)
		}
		waitFor(t, "volsync_volume_out_of_sync 0", syncTimeout, func() error {
			if got := h.Metric(t, "volsync_volume_out_of_sync", map[string]string{"obj_name": x.rs.Name, "obj_namespace": x.rs.Namespace}); got != 0 {
				return fmt.Errorf("%v", got)
			}
			return nil
		})
	}

	// Files written on one side arrive on the other.
	lifecycle.Must(t, os.MkdirAll(filepath.Join(pa.data, "dir", "sub"), 0o755))
	lifecycle.Must(t, os.WriteFile(filepath.Join(pa.data, "dir", "sub", "file.txt"), []byte("from east\n"), 0o644))
	waitFor(t, "the file on west", syncTimeout, func() error {
		got, err := os.ReadFile(filepath.Join(pb.data, "dir", "sub", "file.txt"))
		if err != nil {
			return err
		}
		if string(got) != "from east\n" {
			return fmt.Errorf("content %q", got)
		}
		return nil
	})
	waitCondition(t, a, "the data is in sync", syncTimeout)

	// At rest, polls write nothing.
	rv := readRS(t, a).ResourceVersion
	deadline := time.Now().Add(5 * testPoll)
	for time.Now().Before(deadline) {
		if cur := readRS(t, a); cur.ResourceVersion != rv {
			_, msg := condition(cur)
			t.Fatalf("an in-sync object was written at rest (condition %q)", msg)
		}
		time.Sleep(testPoll / 2)
	}
	// A fresh reconciler (a restarted controller) reads the source PVC once; then a poll makes
	// no API request at all: everything else comes from its cache.
	h.SteadyIdleReconciles(t, a, "persistentvolumeclaims/data")

	// A peer that goes away is reported per peer; the object is out of sync, not failed.
	pb.stop()
	cur := waitCondition(t, a, "peer "+short(idb)+" not connected", syncTimeout)
	if reason, _ := condition(cur); reason != v1alpha1.SynchronizingReasonSync {
		t.Errorf("reason %s for an unreachable peer, want %s", reason, v1alpha1.SynchronizingReasonSync)
	}
	if p := cur.Status.Syncthing.Peers; len(p) != 1 || p[0].Connected {
		t.Errorf("peers %+v, want %s not connected", p, idb)
	}

	// The node itself in its peer list is an error that says so.
	setPeers(t, a, v1alpha1.SyncthingPeer{ID: idb, Address: pb.listen}, v1alpha1.SyncthingPeer{ID: ida, Address: pa.listen})
	cur = waitCondition(t, a, "the peer list contains the node itself", syncTimeout)
	if reason, _ := condition(cur); reason != v1alpha1.SynchronizingReasonError {
		t.Errorf("reason %s, want Error", reason)
	}
}

// TestPausedScalesToZero: spec.paused scales the Deployment to zero (the reference ignored
// it) and back, and the condition says so.
func TestPausedScalesToZero(t *testing.T) {
	ns := h.Namespace(t, nil)
	rs := newSource(t, ns, "pausing", v1alpha1.ReplicationSourceSyncthingSpec{})
	waitDeployment(t, ns, "volsync-pausing")
	for _, paused := range []bool{true, false} {
		cur := readRS(t, rs)
		patch := client.MergeFrom(cur.DeepCopy())
		cur.Spec.Paused = paused
		lifecycle.Must(t, h.Client.Patch(lifecycle.Context(t), cur, patch))
		want := int32(1)
		if paused {
			want = 0
		}
		waitFor(t, fmt.Sprintf("the Deployment at %d replicas", want), lifecycle.WaitTimeout, func() error {
			if r := ptr.Deref(waitDeployment(t, ns, "volsync-pausing").Spec.Replicas, 1); r != want {
				return fmt.Errorf("replicas %d", r)
			}
			return nil
		})
		if paused {
			waitCondition(t, rs, "Paused", lifecycle.WaitTimeout)
		}
	}
}

// TestPrivileged: with the namespace's opt-in the mover runs as root with the capabilities
// that keep owners, and says so to the image.
func TestPrivileged(t *testing.T) {
	ns := h.Namespace(t, map[string]string{v1alpha1.PrivilegedMoversNamespaceAnnotation: "true"})
	newSource(t, ns, "root", v1alpha1.ReplicationSourceSyncthingSpec{})
	d := waitDeployment(t, ns, "volsync-root")
	c := d.Spec.Template.Spec.Containers[0]
	if lifecycle.EnvOf(c)["PRIVILEGED_MOVER"] != "1" || ptr.Deref(c.SecurityContext.RunAsUser, -1) != 0 {
		t.Errorf("privileged mover: env %v, runAsUser %v", lifecycle.EnvOf(c)["PRIVILEGED_MOVER"], c.SecurityContext.RunAsUser)
	}
	if got := fmt.Sprint(c.SecurityContext.Capabilities.Add); got != fmt.Sprint(privilegedCaps) {
		t.Errorf("capabilities %s, want %s", got, fmt.Sprint(privilegedCaps))
	}
}

// TestLongNames: objects of a name longer than 63 characters get the reference's shortened
// names, valid as label values.
func TestLongNames(t *testing.T) {
	ctx := lifecycle.Context(t)
	ns := h.Namespace(t, nil)
	name := "a-replication-source-with-a-name-much-longer-than-sixty-three-characters"
	newSource(t, ns, name, v1alpha1.ReplicationSourceSyncthingSpec{})
	n := namesOf(name)
	if len(n.Deployment) > 63 || len(n.API) > 63 || len(n.Data) > 63 || len(n.App) > 63 || !strings.HasPrefix(n.API, "volsync-api-") {
		t.Fatalf("names %+v", n)
	}
	d := waitDeployment(t, ns, n.Deployment)
	if d.Spec.Template.Labels["app.kubernetes.io/name"] != n.App {
		t.Errorf("pod labels %v", d.Spec.Template.Labels)
	}
	lifecycle.Eventually(t, "the Services", func() error {
		if err := h.Get(ctx, ns, n.API, &corev1.Service{}); err != nil {
			return err
		}
		return h.Get(ctx, ns, n.Data, &corev1.Service{})
	})
	lifecycle.Must(t, h.Get(ctx, ns, "volsync-"+name, &corev1.Secret{}))
	lifecycle.Must(t, h.Get(ctx, ns, "volsync-"+name+"-config", &corev1.PersistentVolumeClaim{}))
}

// TestBadInput: what the schema cannot refuse is an Error condition naming the fix, with
// nothing created.
func TestBadInput(t *testing.T) {
	ctx := lifecycle.Context(t)
	ns := h.Namespace(t, nil)
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nopvc"},
		Spec:       v1alpha1.ReplicationSourceSpec{SourcePVC: "missing", Syncthing: &v1alpha1.ReplicationSourceSyncthingSpec{}},
	}
	h.Create(t, rs)
	cur := waitCondition(t, rs, "source PVC missing not found", lifecycle.WaitTimeout)
	if reason, _ := condition(cur); reason != v1alpha1.SynchronizingReasonError {
		t.Errorf("reason %s, want Error", reason)
	}
	if err := h.Get(ctx, ns, "volsync-nopvc", &appsv1.Deployment{}); err == nil {
		t.Error("a Deployment was created for a missing source")
	}

	// A Block volume: syncthing syncs files.
	block := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "block", Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, VolumeMode: ptr.To(corev1.PersistentVolumeBlock),
			StorageClassName: ptr.To(lifecycle.StorageClass),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	lifecycle.Must(t, h.Client.Create(ctx, block))
	rs2 := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "blocky"},
		Spec:       v1alpha1.ReplicationSourceSpec{SourcePVC: "block", Syncthing: &v1alpha1.ReplicationSourceSyncthingSpec{}},
	}
	h.Create(t, rs2)
	waitCondition(t, rs2, "use a Filesystem source volume", lifecycle.WaitTimeout)
	if err := h.Get(ctx, ns, "volsync-blocky", &appsv1.Deployment{}); err == nil {
		t.Error("a Deployment was created for a Block source")
	}
}

// TestMovedToAnotherMover: a ReplicationSource moved to another mover stops its syncthing at
// once (the Deployment writes the user's volume); what holds the device identity stays.
func TestMovedToAnotherMover(t *testing.T) {
	ctx := lifecycle.Context(t)
	ns := h.Namespace(t, nil)
	rs := newSource(t, ns, "moving", v1alpha1.ReplicationSourceSyncthingSpec{})
	waitDeployment(t, ns, "volsync-moving")
	cur := readRS(t, rs)
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.Syncthing = nil
	cur.Spec.External = &v1alpha1.ReplicationSourceExternalSpec{Provider: "example.com/other"}
	lifecycle.Must(t, h.Client.Patch(ctx, cur, patch))
	waitFor(t, "the Deployment deleted", lifecycle.WaitTimeout, func() error {
		d := &appsv1.Deployment{}
		if err := h.Get(ctx, ns, "volsync-moving", d); err == nil && d.DeletionTimestamp == nil {
			return fmt.Errorf("Deployment %s still there", d.Name)
		}
		return nil
	})
	lifecycle.Must(t, h.Get(ctx, ns, "volsync-moving", &corev1.Secret{}))
	lifecycle.Must(t, h.Get(ctx, ns, "volsync-moving-config", &corev1.PersistentVolumeClaim{}))
}

// TestPodCannotRun: a mover pod that keeps failing (here: a crash loop on a volume it cannot
// write) is an Error condition with the mover's own message, once it has been unready for
// steady.PodStuckAfter.
func TestPodCannotRun(t *testing.T) {
	ctx := lifecycle.Context(t)
	ns := h.Namespace(t, nil)
	rs := newSource(t, ns, "crashing", v1alpha1.ReplicationSourceSyncthingSpec{})
	d := waitDeployment(t, ns, "volsync-crashing")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "volsync-crashing-abc", Namespace: ns, Labels: d.Spec.Template.Labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "syncthing", Image: testImage}}},
	}
	lifecycle.Must(t, h.Client.Create(ctx, pod))
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "syncthing", Image: testImage, RestartCount: 5,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 1, Message: "data directory /data is not writable by uid 65534: set moverSecurityContext"}},
	}}}
	lifecycle.Must(t, h.Client.Status().Update(ctx, pod))
	h.Clock.Step(3 * time.Minute)
	// Any change wakes the reconciler; its clock now says the pod has had its time.
	cur := readRS(t, rs)
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Annotations = map[string]string{"example.com/touch": "1"}
	lifecycle.Must(t, h.Client.Patch(ctx, cur, patch))
	cur = waitCondition(t, rs, "keeps exiting (5 restarts), last exit code 1: data directory /data is not writable", lifecycle.WaitTimeout)
	if reason, _ := condition(cur); reason != v1alpha1.SynchronizingReasonError {
		t.Errorf("reason %s, want Error", reason)
	}
}
