package affinity

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

func testPod(name, claim, node string, phase corev1.PodPhase) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			Volumes: []corev1.Volume{
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		},
		Status: corev1.PodStatus{Phase: phase},
	}
	if claim != "" {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}})
	}
	return p
}

func TestUsersAndChoose(t *testing.T) {
	volsync := testPod("a-mover", "data", "n1", corev1.PodRunning)
	volsync.Labels = map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}
	tests := []struct {
		name string
		pods []corev1.Pod
		want string // chosen pod, "" for none
	}{
		{"no pods", nil, ""},
		{"other claim", []corev1.Pod{testPod("x", "other", "n1", corev1.PodRunning)}, ""},
		{"volsync pod ignored", []corev1.Pod{volsync}, ""},
		{"terminated ignored", []corev1.Pod{testPod("x", "data", "n1", corev1.PodSucceeded), testPod("y", "data", "n2", corev1.PodFailed)}, ""},
		{"pending without node ignored", []corev1.Pod{testPod("x", "data", "", corev1.PodPending)}, ""},
		{"pending with node", []corev1.Pod{testPod("x", "data", "", corev1.PodPending), testPod("y", "data", "n2", corev1.PodPending)}, "y"},
		{"running preferred", []corev1.Pod{testPod("a", "data", "n1", corev1.PodPending), testPod("b", "data", "n2", corev1.PodRunning)}, "b"},
		{"first running by name", []corev1.Pod{testPod("d", "data", "n2", corev1.PodRunning), testPod("c", "data", "n1", corev1.PodRunning)}, "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Choose(Users(tt.pods, "data"))
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tt.want {
				t.Errorf("Choose = %q, want %q", name, tt.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	spec := &corev1.PodSpec{NodeSelector: map[string]string{"zone": "a"}, Tolerations: []corev1.Toleration{{Key: "old"}}}
	var none *Placement
	none.Apply(spec)
	if spec.NodeSelector["zone"] != "a" || len(spec.Tolerations) != 1 {
		t.Fatalf("nil placement changed the spec: %+v", spec)
	}
	p := &Placement{NodeSelector: map[string]string{HostnameLabel: "h"}, Tolerations: []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}}
	p.Apply(spec)
	if !equality.Semantic.DeepEqual(spec.NodeSelector, p.NodeSelector) || !equality.Semantic.DeepEqual(spec.Tolerations, p.Tolerations) {
		t.Fatalf("Apply = %+v", spec)
	}
	spec.NodeSelector["x"] = "y"
	if len(p.NodeSelector) != 1 {
		t.Error("Apply shares the map with the placement")
	}
}

// fixture creates nodes and pods in a fresh namespace.
type fixture struct {
	ctx context.Context
	t   *testing.T
	ns  string
	// pods is the controller's view: Pods from the stripped, claim-indexed cache, Nodes live.
	pods client.Reader
}

func newFixture(t *testing.T) *fixture {
	ctx := testContext(t)
	return &fixture{ctx: ctx, t: t, ns: newNamespace(ctx, t), pods: podReader(t)}
}

// node creates a Node named after the namespace; hostname "" leaves the label off.
func (f *fixture) node(suffix, hostname string) string {
	f.t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: f.ns + "-" + suffix}}
	if hostname != "" {
		n.Labels = map[string]string{HostnameLabel: hostname}
	}
	if err := env.Client.Create(f.ctx, n); err != nil {
		f.t.Fatalf("creating node: %v", err)
	}
	f.t.Cleanup(func() { _ = env.Client.Delete(context.Background(), n) })
	return n.Name
}

func (f *fixture) pod(p corev1.Pod) {
	f.t.Helper()
	p.Namespace = f.ns
	phase := p.Status.Phase
	p.Status = corev1.PodStatus{}
	if err := env.Client.Create(f.ctx, &p); err != nil {
		f.t.Fatalf("creating pod: %v", err)
	}
	if phase != "" && phase != p.Status.Phase {
		orig := p.DeepCopy()
		p.Status.Phase = phase
		if err := env.Client.Status().Patch(f.ctx, &p, client.MergeFrom(orig)); err != nil {
			f.t.Fatalf("setting pod phase: %v", err)
		}
	}
	f.cached(&p)
}

// cached waits until the pod cache holds p as written.
func (f *fixture) cached(p *corev1.Pod) {
	f.t.Helper()
	for {
		got := &corev1.Pod{}
		err := f.pods.Get(f.ctx, client.ObjectKeyFromObject(p), got)
		if err == nil && got.ResourceVersion == p.ResourceVersion {
			return
		}
		select {
		case <-f.ctx.Done():
			f.t.Fatalf("pod %s not in the cache at resourceVersion %s: %v", p.Name, p.ResourceVersion, err)
		case <-time.After(pollInterval):
		}
	}
}

func (f *fixture) pvc(modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "data"},
		Spec:       corev1.PersistentVolumeClaimSpec{AccessModes: modes},
	}
}

func TestForVolume(t *testing.T) {
	t.Run("no users", func(t *testing.T) {
		f := newFixture(t)
		f.pod(testPod("other", "other", f.node("n1", "h1"), corev1.PodRunning))
		p, err := ForVolume(f.ctx, f.pods, f.pvc(corev1.ReadWriteOnce))
		if err != nil || p != nil {
			t.Fatalf("ForVolume = %+v, %v; want nil, nil", p, err)
		}
	})

	t.Run("running pod wins over pending and volsync pods", func(t *testing.T) {
		f := newFixture(t)
		n1, n2, n3 := f.node("n1", "h1"), f.node("n2", "h2"), f.node("n3", "h3")
		mover := testPod("a-mover", "data", n3, corev1.PodRunning)
		mover.Labels = map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}
		f.pod(mover)
		f.pod(testPod("b-pending", "data", n1, corev1.PodPending))
		f.pod(testPod("c-unscheduled", "data", "", corev1.PodPending))
		app := testPod("d-app", "data", n2, corev1.PodRunning)
		app.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "db", Effect: corev1.TaintEffectNoSchedule}}
		f.pod(app)

		p, err := ForVolume(f.ctx, f.pods, f.pvc(corev1.ReadWriteOnce))
		if err != nil {
			t.Fatal(err)
		}
		if p == nil || p.NodeSelector[HostnameLabel] != "h2" || p.NodeName != n2 || p.Pod != "d-app" {
			t.Fatalf("placement = %+v, want node %s (h2) from d-app", p, n2)
		}
		// Admission adds default tolerations to the stored pod: those are copied too.
		stored := &corev1.Pod{}
		if err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: app.Name}, stored); err != nil {
			t.Fatal(err)
		}
		if !equality.Semantic.DeepEqual(p.Tolerations, stored.Spec.Tolerations) || p.Tolerations[0].Key != "dedicated" {
			t.Errorf("tolerations = %+v, want %+v", p.Tolerations, app.Spec.Tolerations)
		}
	})

	t.Run("pending pod with node; unscheduled ignored", func(t *testing.T) {
		f := newFixture(t)
		n1 := f.node("n1", "h1")
		f.pod(testPod("a-unscheduled", "data", "", corev1.PodPending))
		f.pod(testPod("b-pending", "data", n1, corev1.PodPending))
		p, err := ForVolume(f.ctx, f.pods, f.pvc(corev1.ReadWriteOnce))
		if err != nil || p == nil || p.NodeSelector[HostnameLabel] != "h1" {
			t.Fatalf("ForVolume = %+v, %v; want h1", p, err)
		}
	})

	t.Run("only unscheduled pods", func(t *testing.T) {
		f := newFixture(t)
		f.pod(testPod("a-unscheduled", "data", "", corev1.PodPending))
		p, err := ForVolume(f.ctx, f.pods, f.pvc(corev1.ReadWriteOnce))
		if err != nil || p != nil {
			t.Fatalf("ForVolume = %+v, %v; want nil, nil", p, err)
		}
	})

	t.Run("shared access modes", func(t *testing.T) {
		f := newFixture(t)
		f.pod(testPod("app", "data", f.node("n1", "h1"), corev1.PodRunning))
		for _, m := range []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadOnlyMany} {
			p, err := ForVolume(f.ctx, f.pods, f.pvc(corev1.ReadWriteOnce, m))
			if err != nil || p != nil {
				t.Errorf("%s: ForVolume = %+v, %v; want nil, nil", m, p, err)
			}
		}
		// The bound status wins over the spec.
		pvc := f.pvc(corev1.ReadWriteMany)
		pvc.Status.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
		if p, err := ForVolume(f.ctx, f.pods, pvc); err != nil || p == nil {
			t.Errorf("status RWO: ForVolume = %+v, %v; want a placement", p, err)
		}
	})

	t.Run("read-write-once-pod in use", func(t *testing.T) {
		f := newFixture(t)
		f.pod(testPod("app", "data", "", corev1.PodPending))
		_, err := ForVolume(f.ctx, f.pods, f.pvc(corev1.ReadWriteOncePod))
		if !errors.Is(err, ErrVolumeInUse) {
			t.Fatalf("err = %v, want ErrVolumeInUse", err)
		}
	})

	t.Run("read-write-once-pod free", func(t *testing.T) {
		f := newFixture(t)
		f.pod(testPod("done", "data", f.node("n1", "h1"), corev1.PodSucceeded))
		p, err := ForVolume(f.ctx, f.pods, f.pvc(corev1.ReadWriteOncePod))
		if err != nil || p != nil {
			t.Fatalf("ForVolume = %+v, %v; want nil, nil", p, err)
		}
	})

	t.Run("node without hostname label", func(t *testing.T) {
		f := newFixture(t)
		f.pod(testPod("app", "data", f.node("n1", ""), corev1.PodRunning))
		_, err := ForVolume(f.ctx, f.pods, f.pvc(corev1.ReadWriteOnce))
		if !errors.Is(err, ErrNodeUnlabelled) {
			t.Fatalf("err = %v, want ErrNodeUnlabelled", err)
		}
	})
}
