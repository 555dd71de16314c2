package kinds

import (
	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Kind is one kind of object VolSync creates (labelled app.kubernetes.io/created-by: volsync).
type Kind struct {
	// Object is an empty object of the kind.
	Object func() client.Object
	// List is an empty list of the kind.
	List func() client.ObjectList
	// Watched kinds wake their owner's reconcile when they change (a Job's progress, a PVC
	// binding, a snapshot becoming ready, a Service's address, a key Secret edited).
	Watched bool
	// Temporary kinds may be an iteration's temporaries (volsync.backube/cleanup label),
	// removed by cleanup.Temporary at the end of each synchronization.
	Temporary bool
}

// Owned are the kinds VolSync creates. The controllers' ClusterRoles must grant get, list,
// watch and create on each (pkg/deploytests checks the generated ones).
var Owned = []Kind{
	{Object: func() client.Object { return &batchv1.Job{} }, List: func() client.ObjectList { return &batchv1.JobList{} }, Watched: true, Temporary: true},
	{Object: func() client.Object { return &corev1.PersistentVolumeClaim{} }, List: func() client.ObjectList { return &corev1.PersistentVolumeClaimList{} }, Watched: true, Temporary: true},
	{Object: func() client.Object { return &snapv1.VolumeSnapshot{} }, List: func() client.ObjectList { return &snapv1.VolumeSnapshotList{} }, Watched: true, Temporary: true},
	{Object: func() client.Object { return &corev1.Secret{} }, List: func() client.ObjectList { return &corev1.SecretList{} }, Watched: true},
	{Object: func() client.Object { return &corev1.Service{} }, List: func() client.ObjectList { return &corev1.ServiceList{} }, Watched: true},
	// A mover's ServiceAccount only changes when VolSync changes it: not watched.
	{Object: func() client.Object { return &corev1.ServiceAccount{} }, List: func() client.ObjectList { return &corev1.ServiceAccountList{} }},
}

// Deployment is the kind of a steady mover (syncthing), which runs for as long as its object
// exists instead of a Job per synchronization. Only a controller of such a mover owns it
// (app.Controller.Kinds, passed as the extra kinds below): the others neither cache
// Deployments nor may write them.
var Deployment = Kind{
	Object: func() client.Object { return &appsv1.Deployment{} }, List: func() client.ObjectList { return &appsv1.DeploymentList{} },
	Watched: true,
}

// Objects returns an empty object of every owned kind, and of the extra kinds a controller owns.
func Objects(extra ...Kind) []client.Object {
	return objects(func(Kind) bool { return true }, extra)
}

// Watched returns an empty object of every owned kind (and extra kind) whose changes wake its
// owner.
func Watched(extra ...Kind) []client.Object {
	return objects(func(k Kind) bool { return k.Watched }, extra)
}

// TemporaryLists returns an empty list of every kind an iteration's temporaries can be.
func TemporaryLists() []client.ObjectList {
	var out []client.ObjectList
	for _, k := range Owned {
		if k.Temporary {
			out = append(out, k.List())
		}
	}
	return out
}

func objects(keep func(Kind) bool, extra []Kind) []client.Object {
	var out []client.Object
	for _, k := range append(append([]Kind{}, Owned...), extra...) {
		if keep(k) {
			out = append(out, k.Object())
		}
	}
	return out
}
