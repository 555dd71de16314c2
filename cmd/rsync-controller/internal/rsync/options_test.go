package rsync

import (
	"fmt"
	"maps"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/common/service"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// destinationJob starts a destination edited by edit, binds its volume and returns its Job
// after checkDestinationJob.
func destinationJob(t *testing.T, ns string, edit func(*v1alpha1.ReplicationDestinationRsyncSpec)) (*v1alpha1.ReplicationDestination, *batchv1.Job) {
	t.Helper()
	s := startSide(t, ns, naming.Destination, "dest", func(o client.Object) { edit(o.(*v1alpha1.ReplicationDestination).Spec.Rsync) })
	rd, job := s.obj.(*v1alpha1.ReplicationDestination), s.job(t)
	checkDestinationJob(t, rd, job)
	return rd, job
}

// TestDestinationService: the Service in front of the destination's sshd, and none when the
// user gives spec.rsync.address.
func TestDestinationService(t *testing.T) {
	t.Run("custom port", func(t *testing.T) {
		_, _ = destinationJob(t, h.Namespace(t, nil), func(s *v1alpha1.ReplicationDestinationRsyncSpec) { s.Port = ptr.To[int32](2222) })
	})
	t.Run("LoadBalancer with annotations", func(t *testing.T) {
		ctx := lifecycle.Context(t)
		ns := h.Namespace(t, nil)
		rd, job := destinationJob(t, ns, func(s *v1alpha1.ReplicationDestinationRsyncSpec) {
			s.ServiceType = ptr.To(corev1.ServiceTypeLoadBalancer)
			s.ServiceAnnotations = &map[string]string{"lb.example.com/internal": "true"}
		})
		svc := h.CheckService(t, rd, job)
		if svc.Annotations["lb.example.com/internal"] != "true" || svc.Annotations[service.AWSLoadBalancerTypeAnnotation] != "" {
			t.Fatalf("Service annotations %v: want the user's, and no default when the user gives some", svc.Annotations)
		}
		// The load balancer gets its address: the destination publishes it.
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}}
		lifecycle.Must(t, h.Client.Status().Update(ctx, svc))
		lifecycle.Eventually(t, "load balancer address published", func() error {
			lifecycle.Must(t, h.Get(ctx, ns, "dest", rd))
			st := rd.Status.Rsync
			if ptr.Deref(st.Address, "") != "lb.example.com" || ptr.Deref(st.Port, 0) != 22 {
				return fmt.Errorf("status.rsync %s", rsyncStatus(st))
			}
			return nil
		})
		h.WaitEvent(t, ns, "dest", "ServiceAddressAssigned", "lb.example.com")
	})
	t.Run("LoadBalancer default annotation", func(t *testing.T) {
		rd, job := destinationJob(t, h.Namespace(t, nil), func(s *v1alpha1.ReplicationDestinationRsyncSpec) {
			s.ServiceType = ptr.To(corev1.ServiceTypeLoadBalancer)
		})
		if a := h.CheckService(t, rd, job).Annotations; a[service.AWSLoadBalancerTypeAnnotation] != service.AWSLoadBalancerTypeNLB {
			t.Fatalf("Service annotations %v, want the reference's nlb default", a)
		}
	})
	t.Run("address set", func(t *testing.T) {
		// checkDestinationJob checks there is no Service and no published address or port;
		// the sshd Job runs and the generated keys are published.
		_, _ = destinationJob(t, h.Namespace(t, nil), func(s *v1alpha1.ReplicationDestinationRsyncSpec) {
			s.Address, s.Port = ptr.To("rsync.example.com"), ptr.To[int32](2222)
		})
	})
}

// TestSourceConnection: spec.rsync port and sshUser reach the push Job.
func TestSourceConnection(t *testing.T) {
	ns := h.Namespace(t, nil)
	s := startSide(t, ns, naming.Source, "src", func(o client.Object) {
		spec := o.(*v1alpha1.ReplicationSource).Spec.Rsync
		spec.Port, spec.SSHUser, spec.Path = ptr.To[int32](2222), ptr.To("backup"), ptr.To("/replicas/db")
	})
	checkJob(t, s)
	env := lifecycle.EnvOf(lifecycle.Container(t, h.FindJob(t, ns, h.JobName(naming.Source, "src"))))
	if env["DESTINATION_PORT"] != "2222" || env["SSH_USER"] != "backup" || env["DESTINATION_PATH"] != "replicas/db" {
		t.Fatalf("env %v", env)
	}
	d := startSide(t, ns, naming.Destination, "dst", func(o client.Object) {
		o.(*v1alpha1.ReplicationDestination).Spec.Rsync.SSHUser = ptr.To("backup")
	})
	checkJob(t, d)
	if env := lifecycle.EnvOf(lifecycle.Container(t, h.FindJob(t, ns, h.JobName(naming.Destination, "dst")))); env["SSH_USER"] != "backup" {
		t.Fatalf("destination env %v: the login name sources give must reach its sshd", env)
	}
}

func TestDestinationPath(t *testing.T) {
	for in, want := range map[string]string{"": ".", "/": ".", "//a/b": "a/b", "x": "x"} {
		if got := destinationPath(&in); got != want {
			t.Errorf("destinationPath(%q) = %q, want %q", in, got, want)
		}
	}
	if destinationPath(nil) != "." {
		t.Error("no path must be the volume's root")
	}
}

// jobLabels are the labels the API server adds to a Job's pod template.
var jobLabels = map[string]bool{batchv1.ControllerUidLabel: true, batchv1.JobNameLabel: true, "controller-uid": true, "job-name": true}

// TestMoverPodOptions: moverPodLabels (never over VolSync's own), moverResources and
// moverServiceAccount reach the mover pod of both sides; no ServiceAccount is made then.
func TestMoverPodOptions(t *testing.T) {
	labels := map[string]string{"team": "storage", "app.kubernetes.io/component": "not-the-mover"}
	resources := &corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
	}
	for _, role := range []naming.Role{naming.Source, naming.Destination} {
		t.Run(string(role), func(t *testing.T) {
			ns := h.Namespace(t, nil)
			lifecycle.Must(t, h.Client.Create(lifecycle.Context(t), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "mover", Namespace: ns}}))
			s := startSide(t, ns, role, "app", func(o client.Object) {
				switch o := o.(type) {
				case *v1alpha1.ReplicationSource:
					o.Spec.Rsync.MoverPodLabels, o.Spec.Rsync.MoverResources, o.Spec.Rsync.MoverServiceAccount = labels, resources, ptr.To("mover")
				case *v1alpha1.ReplicationDestination:
					o.Spec.Rsync.MoverPodLabels, o.Spec.Rsync.MoverResources, o.Spec.Rsync.MoverServiceAccount = labels, resources, ptr.To("mover")
				}
			})
			s.job(t)
			checkJob(t, s) // VolSync's labels are kept
			job := h.FindJob(t, ns, h.JobName(role, "app"))
			pod := job.Spec.Template
			if pod.Labels["team"] != "storage" {
				t.Errorf("pod labels %v lack the user's", pod.Labels)
			}
			if c := lifecycle.Container(t, job); !equality.Semantic.DeepEqual(c.Resources, *resources) {
				t.Errorf("resources %+v, want %+v", c.Resources, *resources)
			}
			if pod.Spec.ServiceAccountName != "mover" {
				t.Errorf("serviceAccountName %q, want mover", pod.Spec.ServiceAccountName)
			}
			h.Absent(t, ns, naming.MoverServiceAccount(role, "app"), &corev1.ServiceAccount{}, "the user's moverServiceAccount is used")
		})
	}
	t.Run("missing moverServiceAccount", func(t *testing.T) {
		ns := h.Namespace(t, nil)
		s := startSide(t, ns, naming.Source, "app", func(o client.Object) {
			o.(*v1alpha1.ReplicationSource).Spec.Rsync.MoverServiceAccount = ptr.To("absent")
		})
		h.WaitError(t, s.obj, "ServiceAccount "+ns+"/absent named in moverServiceAccount does not exist")
		h.NoneCreated(t, ns)
	})
	t.Run("defaults", func(t *testing.T) {
		ns := h.Namespace(t, nil)
		s := startSide(t, ns, naming.Source, "app", nil)
		job := h.FindJob(t, ns, h.JobName(naming.Source, "app"))
		pod := job.Spec.Template
		want := map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue,
			"app.kubernetes.io/name": "src-app", "app.kubernetes.io/component": "rsync-mover", "app.kubernetes.io/part-of": "volsync"}
		got := maps.Clone(pod.Labels)
		maps.DeleteFunc(got, func(k, _ string) bool { return jobLabels[k] })
		if !maps.Equal(got, want) {
			t.Errorf("pod labels %v, want %v", got, want)
		}
		if c := lifecycle.Container(t, job); len(c.Resources.Requests)+len(c.Resources.Limits) != 0 {
			t.Errorf("resources %+v, want none", c.Resources)
		}
		if pod.Spec.ServiceAccountName != naming.MoverServiceAccount(naming.Source, "app") {
			t.Errorf("serviceAccountName %q", pod.Spec.ServiceAccountName)
		}
		checkJob(t, s)
	})
}
