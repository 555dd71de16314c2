//go:build e2e

package syncthing

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// Deadlines of the cases. The controller looks at a running syncthing every 20 s, and
// syncthing's file-system watcher reports a change after 10 s.
const (
	// publishTimeout bounds a new ReplicationSource's publishing of its device ID and address:
	// the controller generates the API certificate, the config PVC, the Deployment and the
	// Services, and syncthing starts.
	publishTimeout = 4 * time.Minute
	// connectTimeout bounds peers' connecting (or disconnecting) and the status saying so.
	connectTimeout = 4 * time.Minute
	// syncTimeout bounds a change's reaching the other volumes.
	syncTimeout = 3 * time.Minute
	// errorTimeout bounds the reporting of a bad peer list.
	errorTimeout = 3 * time.Minute
	// podTimeout bounds a pod's starting.
	podTimeout = 3 * time.Minute
)

const (
	// moverID is the uid, gid and fsGroup of an unprivileged mover.
	moverID int64 = 65534
	// appGroup is the application's group: the mover's. Files syncthing writes belong to
	// the mover's user, so the application on the other side changes them through the group
	// they share (and writes with umask 002), as an application sharing a volume with an
	// unprivileged mover does.
	appGroup = moverID
	// pvcName is every case's volume, appPod the application pod that mounts it (the tests
	// read and write the volume through it) and toolContainer its container.
	pvcName       = "data"
	appPod        = "app"
	toolContainer = "tool"
	// moverComponent is the app.kubernetes.io/component label of the mover pods.
	moverComponent = "syncthing-mover"
	// moverContainer is the mover pod's container.
	moverContainer = "syncthing"
	// inSyncMessage starts the Synchronizing condition's message while the data is in sync.
	inSyncMessage = "Synchronizing: the data is in sync"
	// metricsURL is the syncthing controller's metrics (plain HTTP in the local overlay).
	metricsURL = "http://volsync-syncthing-metrics." + cluster.ControllerNamespace + ".svc:8080/metrics"
)

// deviceID is the form of a Syncthing device ID.
var deviceID = regexp.MustCompile(`^[A-Z2-7]{7}(-[A-Z2-7]{7}){7}$`)

// node is a ReplicationSource of the Syncthing mover with its volume and an application pod
// that mounts it, which the test reads and writes through (kubectl exec).
type node struct {
	rs *v1alpha1.ReplicationSource
	// root: the application runs as root (privileged namespaces only).
	root bool
	// id and address are what the source publishes (status.syncthing.ID and .address).
	id, address string
}

// newNode creates the volume, a ReplicationSource called name of it without peers, and the
// application pod, in ns.
func newNode(t *testing.T, ns, name string, root bool) *node {
	t.Helper()
	ctx := cluster.Ctx(t, time.Minute)
	cluster.Must(t, cluster.C.Create(ctx, volume.NewPVC(ns, pvcName, nil)))
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.ReplicationSourceSpec{
			SourcePVC: pvcName,
			Syncthing: &v1alpha1.ReplicationSourceSyncthingSpec{},
		},
	}
	cluster.Must(t, cluster.C.Create(ctx, rs))
	n := &node{rs: rs, root: root}
	n.startApp(t)
	return n
}

func (n *node) String() string { return n.rs.Namespace + "/" + n.rs.Name }

// startApp starts the application pod: busybox sleeping with the volume at /data, as uid
// volume.AppUID in the mover's group (restricted), or as root.
func (n *node) startApp(t *testing.T) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: appPod, Namespace: n.rs.Namespace},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: toolContainer, Image: volume.Image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command:      []string{"/bin/sh", "-c", "exec sleep 100000"},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvcName}}}},
			TerminationGracePeriodSeconds: ptr.To(int64(0)),
			RestartPolicy:                 corev1.RestartPolicyNever,
		},
	}
	if n.root {
		pod.Spec.SecurityContext = &corev1.PodSecurityContext{
			RunAsUser: ptr.To(int64(0)), RunAsGroup: ptr.To(int64(0)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
		pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false)}
	} else {
		volume.RestrictedPod(&pod.Spec, volume.AppUID, appGroup)
	}
	ctx := cluster.Ctx(t, podTimeout)
	cluster.Must(t, cluster.C.Create(ctx, pod))
	cluster.Eventually(t, podTimeout, "application pod in "+n.rs.Namespace+" running", func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return err
		}
		if pod.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %s", pod.Status.Phase)
		}
		return nil
	})
}

// sh runs a shell script in the application pod and returns its output.
func (n *node) sh(t *testing.T, script string) (string, error) {
	t.Helper()
	return cluster.Exec(t, n.rs.Namespace, appPod, toolContainer, "/bin/sh", "-c", script)
}

// mustSh runs a shell script in the application pod, failing the test when it fails.
func (n *node) mustSh(t *testing.T, script string) string {
	t.Helper()
	out, err := n.sh(t, script)
	cluster.Must(t, err)
	return out
}

// write runs a script in the volume as the application (umask 002: its group, the mover's,
// may change what it writes).
func (n *node) write(t *testing.T, script string) {
	t.Helper()
	n.mustSh(t, "umask 002; cd /data; "+script+"; sync")
}

// manifestScript lists a volume's tree, sorted: directories, symlinks with their targets,
// and files with their mode and content hash (with owners and groups, and the directories'
// modes, when withOwners is set),
// leaving out what syncthing keeps for itself (the folder marker, the ignore file, its
// temporary files) and lost+found.
func manifestScript(withOwners bool) string {
	stat, dirStat := "%a", ""
	if withOwners {
		stat, dirStat = "%u:%g %a", ` $(stat -c '%u:%g %a' "$p")`
	}
	return `cd /data
find . -mindepth 1 \( -name .stfolder -o -name .stignore -o -name .stversions -o -name lost+found -o -name '.syncthing.*' \) -prune -o -print | sort |
while read -r p; do
  if [ -L "$p" ]; then echo "L $p -> $(readlink "$p")"
  elif [ -d "$p" ]; then echo "D $p` + dirStat + `"
  else echo "F $p $(stat -c '` + stat + `' "$p") $(sha256sum < "$p" | cut -c1-16)"; fi
done`
}

// manifest lists the node's volume (manifestScript).
func (n *node) manifest(t *testing.T, withOwners bool) (string, error) {
	t.Helper()
	return n.sh(t, manifestScript(withOwners))
}

// waitTree waits until every node's volume lists as want (manifestScript).
func waitTree(t *testing.T, what, want string, withOwners bool, nodes ...*node) {
	t.Helper()
	entries := strings.Count(want, "\n")
	if entries == 0 {
		t.Fatalf("%s: the volume written lists nothing", what)
	}
	for _, n := range nodes {
		cluster.Eventually(t, syncTimeout, what+" in "+n.String(), func() error {
			got, err := n.manifest(t, withOwners)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("volume lists\n%s\nwant\n%s", got, want)
			}
			return nil
		})
	}
	t.Logf("%s: every volume has the same tree (%d entries)", what, entries)
}

// get reads the ReplicationSource again.
func (n *node) get(ctx context.Context) error {
	return cluster.C.Get(ctx, client.ObjectKeyFromObject(n.rs), n.rs)
}

// waitStatus polls the ReplicationSource until check passes.
func (n *node) waitStatus(t *testing.T, timeout time.Duration, what string, check func(*v1alpha1.ReplicationSource) error) {
	t.Helper()
	ctx := cluster.Ctx(t, timeout+time.Minute)
	cluster.Eventually(t, timeout, n.String()+": "+what, func() error {
		if err := n.get(ctx); err != nil {
			return err
		}
		if err := check(n.rs); err != nil {
			return fmt.Errorf("%w (status: %s)", err, describe(n.rs))
		}
		return nil
	})
}

// describe summarises a ReplicationSource's status for messages.
func describe(rs *v1alpha1.ReplicationSource) string {
	if rs.Status == nil {
		return "none"
	}
	s := scenario.Describe(&rs.Status.CommonStatus)
	if st := rs.Status.Syncthing; st != nil {
		s += fmt.Sprintf("; syncthing ID %q address %q peers", st.ID, st.Address)
		for _, p := range st.Peers {
			s += fmt.Sprintf(" {%s %s connected=%v name=%q introducedBy=%.7s}", short(p.ID), p.Address, p.Connected, p.Name, p.IntroducedBy)
		}
	}
	return s
}

// short abbreviates a device ID to its first group, as the condition messages do.
func short(id string) string {
	first, _, _ := strings.Cut(id, "-")
	return first
}

// waitPublished waits for the source's device ID and address, and checks their form.
func (n *node) waitPublished(t *testing.T) {
	t.Helper()
	n.waitStatus(t, publishTimeout, "status.syncthing.ID and address", func(rs *v1alpha1.ReplicationSource) error {
		if st := rs.Status.Syncthing; st == nil || st.ID == "" || st.Address == "" {
			return errors.New("not published yet")
		}
		return nil
	})
	st := n.rs.Status.Syncthing
	if !deviceID.MatchString(st.ID) {
		t.Fatalf("%s: status.syncthing.ID %q is not a device ID", n, st.ID)
	}
	n.id, n.address = st.ID, st.Address
	// The address is the data Service's ClusterIP, port 22000.
	svc := &corev1.Service{}
	cluster.Must(t, cluster.C.Get(cluster.Ctx(t, time.Minute), client.ObjectKey{Namespace: n.rs.Namespace, Name: dataService(n.rs.Name)}, svc))
	if want := "tcp://" + svc.Spec.ClusterIP + ":22000"; n.address != want {
		t.Fatalf("%s: status.syncthing.address %q, want %q (Service %s)", n, n.address, want, svc.Name)
	}
	t.Logf("%s: device %s at %s", n, n.id, n.address)
}

// peer is the node as another node's peer.
func (n *node) peer(introducer bool) v1alpha1.SyncthingPeer {
	return v1alpha1.SyncthingPeer{ID: n.id, Address: n.address, Introducer: introducer}
}

// setPeers sets spec.syncthing.peers.
func (n *node) setPeers(t *testing.T, peers ...v1alpha1.SyncthingPeer) {
	t.Helper()
	scenario.Update(t, n.rs, n.String()+" peers", func(rs *v1alpha1.ReplicationSource) {
		rs.Spec.Syncthing.Peers = peers
	})
}

// mesh publishes every node and makes each the peer of all others.
func mesh(t *testing.T, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		n.waitPublished(t)
	}
	for _, n := range nodes {
		var peers []v1alpha1.SyncthingPeer
		for _, o := range nodes {
			if o != n {
				peers = append(peers, o.peer(false))
			}
		}
		n.setPeers(t, peers...)
	}
}

// peerStatus returns the status of the peer id, or nil.
func peerStatus(rs *v1alpha1.ReplicationSource, id string) *v1alpha1.SyncthingPeerStatus {
	if rs.Status == nil || rs.Status.Syncthing == nil {
		return nil
	}
	for i := range rs.Status.Syncthing.Peers {
		if rs.Status.Syncthing.Peers[i].ID == id {
			return &rs.Status.Syncthing.Peers[i]
		}
	}
	return nil
}

// connectedTo checks that the status shows every one of the nodes connected.
func connectedTo(nodes ...*node) func(*v1alpha1.ReplicationSource) error {
	return func(rs *v1alpha1.ReplicationSource) error {
		for _, o := range nodes {
			if p := peerStatus(rs, o.id); p == nil || !p.Connected {
				return fmt.Errorf("peer %s (%s) not connected", short(o.id), o)
			}
		}
		return nil
	}
}

// inSync checks the Synchronizing condition says the data is in sync, and lastSyncTime.
func inSync(rs *v1alpha1.ReplicationSource) error {
	c := scenario.Condition(scenario.SourceStatus(rs))
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.SynchronizingReasonSync || !strings.HasPrefix(c.Message, inSyncMessage) {
		return errors.New("not in sync")
	}
	if rs.Status.LastSyncTime == nil {
		return errors.New("in sync without lastSyncTime")
	}
	return nil
}

// all combines checks.
func all(checks ...func(*v1alpha1.ReplicationSource) error) func(*v1alpha1.ReplicationSource) error {
	return func(rs *v1alpha1.ReplicationSource) error {
		for _, c := range checks {
			if err := c(rs); err != nil {
				return err
			}
		}
		return nil
	}
}

// waitMeshInSync waits until every node shows all others connected and is in sync.
func waitMeshInSync(t *testing.T, what string, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		others := slices.DeleteFunc(slices.Clone(nodes), func(o *node) bool { return o == n })
		n.waitStatus(t, connectTimeout, what+": peers connected and in sync", all(connectedTo(others...), inSync))
	}
	t.Logf("%s: %d peers connected and in sync", what, len(nodes))
}

// moverPod returns the node's running, ready mover pod (there is exactly one, besides pods
// being deleted).
func (n *node) moverPod(t *testing.T) (*corev1.Pod, error) {
	t.Helper()
	pods := &corev1.PodList{}
	if err := cluster.C.List(cluster.Ctx(t, time.Minute), pods, client.InNamespace(n.rs.Namespace),
		client.MatchingLabels{"app.kubernetes.io/component": moverComponent}); err != nil {
		return nil, err
	}
	var live []*corev1.Pod
	for i := range pods.Items {
		if pods.Items[i].DeletionTimestamp == nil {
			live = append(live, &pods.Items[i])
		}
	}
	if len(live) != 1 {
		return nil, fmt.Errorf("%d mover pods", len(live))
	}
	p := live[0]
	if p.Status.Phase != corev1.PodRunning {
		return nil, fmt.Errorf("mover pod %s: phase %s", p.Name, p.Status.Phase)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return p, nil
		}
	}
	return nil, fmt.Errorf("mover pod %s not ready", p.Name)
}

// waitMoverPod waits for the node's mover pod to run and be ready, and returns it.
func (n *node) waitMoverPod(t *testing.T, not ...*corev1.Pod) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	cluster.Eventually(t, podTimeout, n.String()+" mover pod ready", func() error {
		var err error
		if pod, err = n.moverPod(t); err != nil {
			return err
		}
		for _, old := range not {
			if pod.UID == old.UID {
				return fmt.Errorf("mover pod %s is still the old one", pod.Name)
			}
		}
		return nil
	})
	return pod
}

// checkMoverPod checks how the mover pod runs: PRIVILEGED_MOVER, and as root or as the
// unprivileged user with its fsGroup.
func (n *node) checkMoverPod(t *testing.T, privileged bool) *corev1.Pod {
	t.Helper()
	pod := n.waitMoverPod(t)
	var c *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == moverContainer {
			c = &pod.Spec.Containers[i]
		}
	}
	if c == nil {
		t.Fatalf("%s: mover pod %s has no container %s", n, pod.Name, moverContainer)
	}
	env := ""
	for _, e := range c.Env {
		if e.Name == "PRIVILEGED_MOVER" {
			env = e.Value
		}
	}
	podSC := ptr.Deref(pod.Spec.SecurityContext, corev1.PodSecurityContext{})
	uid := podSC.RunAsUser
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		uid = c.SecurityContext.RunAsUser
	}
	if privileged {
		if env != "1" || ptr.Deref(uid, -1) != 0 {
			t.Fatalf("%s: privileged mover pod %s has PRIVILEGED_MOVER=%q and runs as uid %v, want 1 and 0", n, pod.Name, env, ptr.Deref(uid, -1))
		}
	} else {
		if env != "0" || ptr.Deref(uid, -1) != moverID || ptr.Deref(podSC.FSGroup, -1) != moverID {
			t.Fatalf("%s: mover pod %s has PRIVILEGED_MOVER=%q, runs as uid %v with fsGroup %v, want 0, %d and %d", n, pod.Name,
				env, ptr.Deref(uid, -1), ptr.Deref(podSC.FSGroup, -1), moverID, moverID)
		}
	}
	t.Logf("%s: mover pod %s, PRIVILEGED_MOVER=%s, uid %d", n, pod.Name, env, ptr.Deref(uid, -1))
	return pod
}

// dataService and apiService name the node's Services (volsync-<rs>-data / -api, or
// volsync-data-<crc32> / volsync-api-<crc32> beyond 63 characters).
func dataService(rs string) string { return serviceName(rs, "data") }
func apiService(rs string) string  { return serviceName(rs, "api") }

func serviceName(rs, what string) string {
	if n := "volsync-" + rs + "-" + what; len(n) <= 63 {
		return n
	}
	return fmt.Sprintf("volsync-%s-%08x", what, crc32.ChecksumIEEE([]byte(rs)))
}

// checkObjects checks what the controller created for the node, under the reference's names:
// the Deployment (one replica, Recreate), the API and data Services, the config PVC and the
// Secret, all controlled by the ReplicationSource.
func (n *node) checkObjects(t *testing.T) {
	t.Helper()
	ctx := cluster.Ctx(t, time.Minute)
	rs := n.rs
	get := func(name string, obj client.Object) {
		t.Helper()
		if err := cluster.C.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: name}, obj); err != nil {
			t.Fatalf("%s: %T %s: %v", n, obj, name, err)
		}
		if !metav1.IsControlledBy(obj, rs) {
			t.Fatalf("%s: %T %s is not controlled by the ReplicationSource: %+v", n, obj, name, obj.GetOwnerReferences())
		}
	}
	deployment := scenario.ShortName("volsync-", rs.Name)
	dep := &appsv1.Deployment{}
	get(deployment, dep)
	if ptr.Deref(dep.Spec.Replicas, 1) != 1 || dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Fatalf("%s: Deployment %s has %d replicas, strategy %q; want 1, Recreate", n, deployment, ptr.Deref(dep.Spec.Replicas, 1), dep.Spec.Strategy.Type)
	}
	for name, port := range map[string]int32{apiService(rs.Name): 8384, dataService(rs.Name): 22000} {
		svc := &corev1.Service{}
		get(name, svc)
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != port || svc.Spec.Type != corev1.ServiceTypeClusterIP {
			t.Fatalf("%s: Service %s: type %s, ports %+v; want ClusterIP, port %d", n, name, svc.Spec.Type, svc.Spec.Ports, port)
		}
	}
	get("volsync-"+rs.Name+"-config", &corev1.PersistentVolumeClaim{})
	get("volsync-"+rs.Name, &corev1.Secret{})
	t.Logf("%s: Deployment %s, Services %s and %s", n, deployment, apiService(rs.Name), dataService(rs.Name))
}

// waitOutOfSyncGauge waits until the controller's volsync_volume_out_of_sync of every node
// is value, read through via's application pod.
func waitOutOfSyncGauge(t *testing.T, via *node, value string, nodes ...*node) {
	t.Helper()
	cluster.Eventually(t, connectTimeout, "volsync_volume_out_of_sync "+value, func() error {
		out, err := via.sh(t, "wget -qO- "+metricsURL+" | grep '^volsync_volume_out_of_sync' || true")
		if err != nil {
			return err
		}
		for _, n := range nodes {
			// Prometheus sorts labels by name: method, obj_name, obj_namespace, role.
			series := fmt.Sprintf(`volsync_volume_out_of_sync{method="syncthing",obj_name="%s",obj_namespace="%s",role="source"}`, n.rs.Name, n.rs.Namespace)
			got := ""
			for _, l := range strings.Split(out, "\n") {
				if f := strings.Fields(l); len(f) == 2 && f[0] == series {
					got = f[1]
				}
			}
			if got != value {
				return fmt.Errorf("%s is %q\n%s", series, got, out)
			}
		}
		return nil
	})
}
