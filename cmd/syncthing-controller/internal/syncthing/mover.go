package syncthing

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/syncthing-controller/internal/stapi"
	moverc "github.com/volsync-go/volsync/images/contract/mover"
	contract "github.com/volsync-go/volsync/images/contract/syncthing"
	"github.com/volsync-go/volsync/pkg/common/affinity"
	"github.com/volsync-go/volsync/pkg/common/events"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/common/rbac"
	"github.com/volsync-go/volsync/pkg/common/secrets"
	"github.com/volsync-go/volsync/pkg/common/service"
	"github.com/volsync-go/volsync/pkg/common/steady"
	"github.com/volsync-go/volsync/pkg/pit"
)

const (
	// PollInterval is how often a running syncthing's API is polled (jittered by the state
	// machine): its connections and the folder's completion are not visible to a watch.
	PollInterval = 20 * time.Second
	// apiRetry is how soon an API call that failed (the pod restarting) is tried again.
	apiRetry = 5 * time.Second
	// appliedRetry is how soon a syncthing that was just configured is polled: a change of
	// its GUI settings restarts its API listener.
	appliedRetry = 2 * time.Second
	// component is the pods' app.kubernetes.io/component label.
	component = "syncthing-mover"
)

// defaultConfigCapacity is the config PVC's size unless configCapacity says otherwise.
var defaultConfigCapacity = resource.MustParse("1Gi")

// defaultMemoryLimit is the mover's memory limit unless moverResources says otherwise (the
// reference's).
var defaultMemoryLimit = resource.MustParse("1Gi")

type source struct {
	env   mover.Env
	rs    *v1alpha1.ReplicationSource
	spec  *v1alpha1.ReplicationSourceSyncthingSpec
	image string
	apis  *Clients
	names names
	every time.Duration
}

// Synchronize keeps the syncthing of rs running and configured, and reports whether its data
// is in sync. It never completes.
func (s *source) Synchronize(ctx context.Context) (mover.Result, error) {
	if err := checkPeers(s.spec.Peers, ""); err != nil {
		return mover.Result{}, mover.ActionRequired(err, "correct spec.syncthing.peers")
	}
	pvc, err := s.sourcePVC(ctx)
	if err != nil {
		return mover.Result{}, err
	}
	if err := jobs.CheckVolumeMode(jobs.Spec{Owner: s.rs, Container: contract.Container, Data: &jobs.Data{PVC: pvc}}); err != nil {
		return mover.Result{}, mover.ActionRequired(err, "use a Filesystem source volume")
	}
	secret, err := secrets.Owned{
		Name: s.names.Secret, Owner: s.rs, Field: "(no field: it is generated)",
		Generate: func() (map[string][]byte, error) {
			return generateSecret(s.names.API, s.rs.Namespace, s.env.Clock.Now())
		},
		Check: secrets.HasKeys(contract.SecretAPIKey, contract.SecretUsername, contract.SecretPassword,
			contract.SecretHTTPSCert, contract.SecretHTTPSKey),
	}.Ensure(ctx, s.env.Client)
	if err != nil {
		return mover.Result{}, err
	}
	config, wait, err := s.configPVC(ctx, pvc)
	if err != nil || config == nil {
		return mover.Pending(waitAfter(wait)), err
	}
	sa, err := rbac.MoverServiceAccount(ctx, s.env.Client, s.env.Users, s.rs, naming.Source, s.spec.MoverServiceAccount,
		rbac.WithPullSecrets(s.env.PullSecrets, s.env.Events))
	if err != nil {
		return mover.Result{}, err
	}
	spec, err := s.deployment(ctx, pvc, config, sa)
	if err != nil {
		return mover.Result{}, err
	}
	runner := steady.Runner{Client: s.env.Client, APIReader: s.env.APIReader, Clock: s.env.Clock}
	state, err := runner.Ensure(ctx, spec)
	if err != nil {
		return mover.Result{}, err
	}
	apiAddr, dataAddr, retry, err := s.services(ctx, spec.Pod.Labels)
	if err != nil {
		return mover.Result{}, err
	}
	if dataAddr != "" {
		s.status().Address = "tcp://" + net.JoinHostPort(dataAddr, strconv.Itoa(contract.DataPort))
	}
	switch {
	case state.Paused:
		return mover.Result{InSync: ptr.To(false)}, nil
	case state.Err != nil:
		return mover.Result{}, mover.Retry(state.Err, state.RetryAfter)
	case !state.Ready:
		return mover.Result{Waiting: "the syncthing pod to be ready", RetryAfter: minPositive(state.RetryAfter, retry)}, nil
	case apiAddr == "":
		return mover.Result{Waiting: "an address for Service " + s.names.API, RetryAfter: retry}, nil
	}
	return s.poll(ctx, secret, apiAddr)
}

// sourcePVC reads the volume syncthing keeps in sync (live, once per synchronization).
func (s *source) sourcePVC(ctx context.Context) (*corev1.PersistentVolumeClaim, error) {
	pvc := &corev1.PersistentVolumeClaim{}
	err := s.env.Users.Get(ctx, client.ObjectKey{Namespace: s.rs.Namespace, Name: s.rs.Spec.SourcePVC}, pvc)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("source PVC %s not found: create it or correct spec.sourcePVC", s.rs.Spec.SourcePVC)
	}
	if err != nil {
		return nil, fmt.Errorf("reading source PVC %s: %w", s.rs.Spec.SourcePVC, err)
	}
	return pvc, nil
}

// configPVC is syncthing's home (its device identity and database): created once, kept for
// the object's life, with the source volume's class and access modes unless the spec says
// otherwise.
func (s *source) configPVC(ctx context.Context, data *corev1.PersistentVolumeClaim) (*corev1.PersistentVolumeClaim, *pit.Wait, error) {
	v := pit.ExtraVolume{Name: s.names.Config, Capacity: defaultConfigCapacity, StorageClassName: data.Spec.StorageClassName,
		AccessModes: data.Spec.AccessModes}
	if s.spec.ConfigCapacity != nil {
		v.Capacity = *s.spec.ConfigCapacity
	}
	if s.spec.ConfigStorageClassName != nil {
		v.StorageClassName = s.spec.ConfigStorageClassName
	}
	if len(s.spec.ConfigAccessModes) > 0 {
		v.AccessModes = s.spec.ConfigAccessModes
	}
	h := pit.Handler{Client: s.env.Client, Users: s.env.Users, Owner: s.rs, Events: s.env.Events, Clock: s.env.Clock}
	return h.Extra(ctx, v)
}

// deployment is the mover's Deployment: the shared mover pod, on the source volume itself
// (writable: syncthing receives too), always placed with the application's pods.
func (s *source) deployment(ctx context.Context, data, config *corev1.PersistentVolumeClaim, sa string) (steady.Spec, error) {
	cfg := s.spec.MoverConfig.DeepCopy()
	if cfg.MoverResources == nil {
		cfg.MoverResources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: defaultMemoryLimit}}
	}
	_, debug := s.rs.Annotations[v1alpha1.EnableDebugMoverAnnotation]
	pod := jobs.Spec{
		Name: s.names.Deployment, Owner: s.rs, Container: contract.Container, Image: s.image,
		Args:           []string{contract.CommandRun},
		ServiceAccount: sa, Paused: s.rs.Spec.Paused, Privileged: s.env.Privileged, PrivilegedCaps: privilegedCaps,
		Data: &jobs.Data{PVC: data}, WritableData: true, Config: cfg, Debug: debug, Proxy: s.env.ProxyEnv,
		Labels: jobs.PodLabels(s.names.App, component),
		Env: []corev1.EnvVar{
			{Name: contract.EnvConfigDir, Value: contract.ConfigDir},
			{Name: contract.EnvDataDir, Value: moverc.DataDir},
			{Name: contract.EnvCertDir, Value: contract.CertDir},
			{Name: contract.EnvAPIKey, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: s.names.Secret}, Key: contract.SecretAPIKey}}},
		},
		Volumes: []corev1.Volume{
			{Name: "syncthing-config", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: config.Name}}},
			{Name: "https-certs", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: s.names.Secret,
				Items: []corev1.KeyToPath{
					{Key: contract.SecretHTTPSKey, Path: contract.HTTPSKeyFile},
					{Key: contract.SecretHTTPSCert, Path: contract.HTTPSCertFile},
				},
				// Readable by the mover's user whatever its uid (a user's moverSecurityContext
				// may have no fsGroup); only this pod mounts it, and the mover copies the
				// files into its config directory with mode 0600.
				DefaultMode: ptr.To(int32(0o444)),
			}}},
		},
		Mounts: []corev1.VolumeMount{
			{Name: "syncthing-config", MountPath: contract.ConfigDir},
			{Name: "https-certs", MountPath: contract.CertDir, ReadOnly: true},
		},
	}
	place, err := affinity.ForVolume(ctx, s.env.Client, data)
	if err != nil {
		return steady.Spec{}, err
	}
	if place != nil {
		pod.NodeSelector, pod.Tolerations = place.NodeSelector, place.Tolerations
	}
	return steady.Spec{Pod: pod, Ports: []corev1.ContainerPort{
		{Name: contract.APIPortName, ContainerPort: contract.APIPort, Protocol: corev1.ProtocolTCP},
		{Name: contract.DataPortName, ContainerPort: contract.DataPort, Protocol: corev1.ProtocolTCP},
	}}, nil
}

// services ensures the API Service (ClusterIP, the controller's) and the data Service
// (spec.syncthing.serviceType, the peers'), and returns their addresses.
func (s *source) services(ctx context.Context, selector map[string]string) (api, data string, retry time.Duration, err error) {
	api, r1, err := service.Ensure(ctx, s.env.Client, s.env.Events, s.env.Clock, service.Spec{
		Name: s.names.API, Owner: s.rs, Selector: selector, Annotations: &map[string]string{},
		PortName: contract.APIPortName, Port: contract.APIPort, TargetPort: contract.APIPort, Internal: true,
	}, "")
	if err != nil {
		return "", "", 0, err
	}
	prevData := ""
	if st := s.rs.Status.Syncthing; st != nil && st.Address != "" {
		if host, _, err := net.SplitHostPort(trimScheme(st.Address)); err == nil {
			prevData = host
		}
	}
	data, r2, err := service.Ensure(ctx, s.env.Client, s.env.Events, s.env.Clock, service.Spec{
		Name: s.names.Data, Owner: s.rs, Type: s.spec.ServiceType, Selector: selector,
		PortName: contract.DataPortName, Port: contract.DataPort, TargetPort: contract.DataPort,
	}, prevData)
	if err != nil {
		return "", "", 0, err
	}
	return api, data, minPositive(r1, r2), nil
}

// poll configures the running syncthing through its API and reports its state.
func (s *source) poll(ctx context.Context, secret *corev1.Secret, apiAddr string) (mover.Result, error) {
	api, err := s.apis.For(types.NamespacedName{Namespace: s.rs.Namespace, Name: s.rs.Name}, stapi.Endpoint{
		Address:    net.JoinHostPort(apiAddr, strconv.Itoa(contract.APIPort)),
		ServerName: serverName(s.names.API, s.rs.Namespace),
		CertPEM:    secret.Data[contract.SecretHTTPSCert],
		APIKey:     string(secret.Data[contract.SecretAPIKey]),
	}, s.env.Clock.Now())
	if err != nil {
		return mover.Result{}, mover.ActionRequired(fmt.Errorf("the API certificate of Secret %s: %w", s.names.Secret, err),
			"delete Secret "+s.names.Secret+" so that a new one is generated")
	}
	o, applied, err := s.configure(ctx, api, secret)
	if applied {
		return mover.Result{InSync: ptr.To(false), Waiting: "syncthing applying its configuration", RetryAfter: appliedRetry}, nil
	}
	if err != nil {
		var action *mover.ActionError
		if errors.As(err, &action) {
			return mover.Result{}, err
		}
		return mover.Result{}, mover.Retry(fmt.Errorf("syncthing API of %s: %w", s.names.Deployment, err), apiRetry)
	}
	st := s.status()
	if st.ID != o.MyID && o.MyID != "" {
		s.env.Events.Normal(nil, events.ReasonDaemonConnected, events.ActionConnect,
			"Connection established to local Syncthing API: device ID %s", o.MyID)
	}
	st.ID = o.MyID
	if peers := peerStatus(o); !equality.Semantic.DeepEqual(peers, st.Peers) {
		st.Peers = peers
	}
	ok, why := inSync(s.spec.Peers, o)
	return mover.Result{InSync: &ok, Waiting: why, RetryAfter: s.every}, nil
}

// configure applies the desired configuration (one PUT when it differs: applied) or, when
// there is nothing to apply, observes the state.
func (s *source) configure(ctx context.Context, api *stapi.Client, secret *corev1.Secret) (o observed, applied bool, err error) {
	sys, err := api.Status(ctx)
	if err != nil {
		return observed{}, false, err
	}
	if err := checkPeers(s.spec.Peers, sys.MyID); err != nil {
		return observed{}, false, mover.ActionRequired(err, "remove this ReplicationSource's own ID ("+sys.MyID+") from spec.syncthing.peers")
	}
	cfg, err := api.Config(ctx)
	if err != nil {
		return observed{}, false, err
	}
	want := stapi.Desired{
		MyID: sys.MyID, Folder: contract.FolderID, Path: moverc.DataDir,
		Username: string(secret.Data[contract.SecretUsername]), Password: string(secret.Data[contract.SecretPassword]),
		Ownership: s.env.Privileged,
	}
	for _, p := range s.spec.Peers {
		want.Peers = append(want.Peers, stapi.Peer{ID: p.ID, Address: p.Address, Introducer: p.Introducer})
	}
	if cfg.NeedsDefaults(want) {
		if want.NewDevice, want.NewFolder, err = api.Defaults(ctx); err != nil {
			return observed{}, false, err
		}
	}
	if cfg.Apply(want) {
		log.FromContext(ctx).Info("Applying the syncthing configuration", "peers", len(want.Peers))
		if err := api.PutConfig(ctx, cfg); err != nil {
			return observed{}, false, err
		}
		return observed{}, true, nil
	}
	o = observed{MyID: sys.MyID, Devices: cfg.Devices(), Completions: map[string]stapi.Completion{}}
	if o.Connections, err = api.Connections(ctx); err != nil {
		return observed{}, false, err
	}
	for _, p := range s.spec.Peers {
		if !o.Connections[p.ID].Connected {
			continue
		}
		c, err := api.Completion(ctx, contract.FolderID, p.ID)
		if err != nil {
			return observed{}, false, err
		}
		o.Completions[p.ID] = c
	}
	if o.Folder, err = api.FolderStatus(ctx, contract.FolderID); err != nil {
		return observed{}, false, err
	}
	return o, false, nil
}

// Cleanup implements mover.Mover: never called (a steady mover never completes); the objects
// go with the ReplicationSource (owner references).
func (s *source) Cleanup(context.Context) (mover.Result, error) { return mover.Done(), nil }

func (s *source) status() *v1alpha1.ReplicationSourceSyncthingStatus {
	if s.rs.Status.Syncthing == nil {
		s.rs.Status.Syncthing = &v1alpha1.ReplicationSourceSyncthingStatus{}
	}
	return s.rs.Status.Syncthing
}

func trimScheme(addr string) string {
	if _, rest, ok := strings.Cut(addr, "://"); ok {
		return rest
	}
	return addr
}

func waitAfter(w *pit.Wait) time.Duration {
	if w == nil {
		return 0
	}
	return w.RequeueAfter
}

func minPositive(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0 || a < b:
		return a
	}
	return b
}
