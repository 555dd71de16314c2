package affinity

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// appPodJSON is a pod of a typical Deployment as the API server returns it (managedFields,
// two containers with env, probes and resources, a projected token volume, the data claim,
// a full status).
const appPodJSON = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"db-7d9c5b6f4-%05d","generateName":"db-7d9c5b6f4-","namespace":"shop","uid":"2f1d6c1e-8e7a-4d1b-9a3c-%012d","resourceVersion":"%d","creationTimestamp":"2026-11-30T10:00:00Z",
"labels":{"app.kubernetes.io/name":"db","app.kubernetes.io/instance":"shop","app.kubernetes.io/component":"database","pod-template-hash":"7d9c5b6f4"},
"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-29T08:00:00Z","prometheus.io/scrape":"true","prometheus.io/port":"9187"},
"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"db-7d9c5b6f4","uid":"9b8f5e9a-1c55-4f0e-8d7e-3f5b2f9c1a00","controller":true,"blockOwnerDeletion":true}],
"managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","time":"2026-11-30T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:app.kubernetes.io/name":{},"f:app.kubernetes.io/instance":{},"f:app.kubernetes.io/component":{},"f:pod-template-hash":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"9b8f5e9a-1c55-4f0e-8d7e-3f5b2f9c1a00\"}":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"db\"}":{".":{},"f:env":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:ports":{},"f:resources":{},"f:volumeMounts":{}},"k:{\"name\":\"exporter\"}":{".":{},"f:image":{},"f:name":{}}},"f:volumes":{"k:{\"name\":\"data\"}":{".":{},"f:name":{},"f:persistentVolumeClaim":{}}}}}},
{"manager":"kubelet","operation":"Update","apiVersion":"v1","time":"2026-11-30T10:00:09Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}}},"f:containerStatuses":{},"f:hostIP":{},"f:phase":{},"f:podIP":{},"f:podIPs":{},"f:startTime":{}}},"subresource":"status"}]},
"spec":{"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"data-db-%05d"}},{"name":"config","configMap":{"name":"db-config","defaultMode":420}},
{"name":"kube-api-access-x7k2p","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420}}],
"containers":[{"name":"db","image":"docker.io/library/postgres:17.2","ports":[{"name":"postgres","containerPort":5432,"protocol":"TCP"}],
"env":[{"name":"POSTGRES_DB","value":"shop"},{"name":"POSTGRES_USER","valueFrom":{"secretKeyRef":{"name":"db-credentials","key":"username"}}},{"name":"POSTGRES_PASSWORD","valueFrom":{"secretKeyRef":{"name":"db-credentials","key":"password"}}},{"name":"PGDATA","value":"/var/lib/postgresql/data/pgdata"}],
"resources":{"limits":{"cpu":"2","memory":"4Gi"},"requests":{"cpu":"500m","memory":"1Gi"}},
"volumeMounts":[{"name":"data","mountPath":"/var/lib/postgresql/data"},{"name":"config","mountPath":"/etc/postgresql/conf.d"},{"name":"kube-api-access-x7k2p","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],
"livenessProbe":{"exec":{"command":["pg_isready","-U","postgres"]},"initialDelaySeconds":30,"timeoutSeconds":5,"periodSeconds":10,"successThreshold":1,"failureThreshold":6},
"readinessProbe":{"exec":{"command":["pg_isready","-U","postgres"]},"initialDelaySeconds":5,"timeoutSeconds":5,"periodSeconds":10,"successThreshold":1,"failureThreshold":6},
"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"runAsNonRoot":true}},
{"name":"exporter","image":"quay.io/prometheuscommunity/postgres-exporter:v0.16.0","ports":[{"name":"metrics","containerPort":9187,"protocol":"TCP"}],"env":[{"name":"DATA_SOURCE_NAME","value":"postgresql://localhost:5432/shop?sslmode=disable"}],
"resources":{"limits":{"cpu":"100m","memory":"128Mi"},"requests":{"cpu":"10m","memory":"32Mi"}},"volumeMounts":[{"name":"kube-api-access-x7k2p","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],
"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],
"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"default","serviceAccount":"default","nodeName":"worker-%d",
"securityContext":{"runAsUser":999,"fsGroup":999,"seccompProfile":{"type":"RuntimeDefault"}},"schedulerName":"default-scheduler",
"tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],
"priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},
"status":{"phase":"Running","conditions":[{"type":"PodReadyToStartContainers","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-30T10:00:05Z"},{"type":"Initialized","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-30T10:00:01Z"},{"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-30T10:00:09Z"},{"type":"ContainersReady","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-30T10:00:09Z"},{"type":"PodScheduled","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-30T10:00:00Z"}],
"hostIP":"10.0.3.%d","hostIPs":[{"ip":"10.0.3.%d"}],"podIP":"10.244.%d.%d","podIPs":[{"ip":"10.244.%d.%d"}],"startTime":"2026-11-30T10:00:00Z",
"containerStatuses":[{"name":"db","state":{"running":{"startedAt":"2026-11-30T10:00:04Z"}},"lastState":{},"ready":true,"restartCount":0,"image":"docker.io/library/postgres:17.2","imageID":"docker.io/library/postgres@sha256:87ec5e0a167dc7d4831729f9e1d2ee7b8597dcc49ccd9e43cc5f89e808d2adae","containerID":"containerd://4b1e3c1d2f0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d","started":true},
{"name":"exporter","state":{"running":{"startedAt":"2026-11-30T10:00:05Z"}},"lastState":{},"ready":true,"restartCount":0,"image":"quay.io/prometheuscommunity/postgres-exporter:v0.16.0","imageID":"quay.io/prometheuscommunity/postgres-exporter@sha256:1b7c4f5e3a2d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b","containerID":"containerd://8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e","started":true}],"qosClass":"Burstable"}}`

// appPod decodes the i-th pod, as an informer would receive it.
func appPod(tb testing.TB, i int) *corev1.Pod {
	tb.Helper()
	n := i % 250
	raw := fmt.Sprintf(appPodJSON, i, i, 1000+i, i, n, n, n, n, i%200, n, i%200)
	p := &corev1.Pod{}
	if err := json.Unmarshal([]byte(raw), p); err != nil {
		tb.Fatalf("decoding the test pod: %v", err)
	}
	return p
}

func TestStripPodKeepsWhatPlacementNeeds(t *testing.T) {
	p := appPod(t, 7)
	p.Labels[v1alpha1.CreatedByLabel] = v1alpha1.CreatedByValue
	now := metav1.Now()
	p.DeletionTimestamp = &now
	out, err := StripPod(p)
	if err != nil {
		t.Fatal(err)
	}
	s := out.(*corev1.Pod)
	want := &corev1.Pod{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: "shop", UID: p.UID, ResourceVersion: p.ResourceVersion,
			DeletionTimestamp: &now, Labels: map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}},
		Spec: corev1.PodSpec{NodeName: "worker-7", Tolerations: p.Spec.Tolerations, Volumes: []corev1.Volume{{Name: "data",
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-db-00007"}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if !equality.Semantic.DeepEqual(s, want) {
		t.Errorf("stripped pod:\n got %+v\nwant %+v", s, want)
	}
	// What placement decides from a stripped pod is what it decides from the whole one.
	whole, err := StripPod(appPod(t, 7))
	if err != nil {
		t.Fatal(err)
	}
	got := Choose(Users([]corev1.Pod{*whole.(*corev1.Pod)}, "data-db-00007"))
	want0 := Choose(Users([]corev1.Pod{*appPod(t, 7)}, "data-db-00007"))
	if got == nil || want0 == nil || got.Name != want0.Name || got.Spec.NodeName != want0.Spec.NodeName ||
		!equality.Semantic.DeepEqual(got.Spec.Tolerations, want0.Spec.Tolerations) {
		t.Errorf("placement from the stripped pod = %+v, from the whole pod %+v", got, want0)
	}
	if got := IndexClaims(s); len(got) != 1 || got[0] != "data-db-00007" {
		t.Errorf("IndexClaims = %v", got)
	}
	tomb := cache.DeletedFinalStateUnknown{Key: "shop/x", Obj: p}
	if got, err := StripPod(tomb); err != nil || got != any(tomb) {
		t.Errorf("a tombstone must pass unchanged: %v, %v", got, err)
	}
}

// BenchmarkPodCacheMemory measures the heap an informer's store of 10,000 application pods
// takes, whole and stripped by StripPod (docs/control-plane.md). Run it with
// go test -run '^$' -bench PodCacheMemory -benchtime 1x ./common/affinity/
func BenchmarkPodCacheMemory(b *testing.B) {
	const pods = 10000
	for _, tc := range []struct {
		name      string
		transform func(any) (any, error)
	}{
		{"whole", func(o any) (any, error) { return o, nil }},
		{"stripped", StripPod},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				before := heapInUse()
				store := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{
					cache.NamespaceIndex: cache.MetaNamespaceIndexFunc,
					ClaimIndex: func(obj any) ([]string, error) {
						return IndexClaims(obj.(*corev1.Pod)), nil
					},
				})
				for i := range pods {
					o, err := tc.transform(appPod(b, i))
					if err != nil {
						b.Fatal(err)
					}
					if err := store.Add(o); err != nil {
						b.Fatal(err)
					}
				}
				used := heapInUse() - before
				b.ReportMetric(float64(used)/(1<<20), "MiB/10k-pods")
				b.ReportMetric(float64(used)/pods, "B/pod")
				runtime.KeepAlive(store)
			}
		})
	}
}

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
