package restic

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	resticcontract "github.com/volsync-go/volsync/images/contract/restic"
	"github.com/volsync-go/volsync/pkg/common/customca"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/common/secrets"
	"github.com/volsync-go/volsync/pkg/pit"
)

const (
	// cacheVolume and gcsVolume are the pod volumes of the cache PVC and of the Google
	// credentials (the reference's names).
	cacheVolume = "cache"
	gcsVolume   = "gcs-credentials"
	// backoffLimit is how many times Kubernetes retries a mover pod that failed for a reason
	// a new pod may not have (the reference's 8); failures the user must fix fail the Job at
	// once (resticcontract.ExitUserAction).
	backoffLimit int32 = 8
	// giveUpAfter is how many Jobs of a synchronization may fail for a reason the user must
	// fix (wrong password, unreachable or locked repository, unreadable files, full cache)
	// before no new Job starts until the object or its repository Secret changes.
	giveUpAfter = 3
	// credentialsFileMode: readable by whatever uid the mover runs as; the volume is private
	// to the mover pod.
	credentialsFileMode int32 = 0o444
)

// defaultCacheCapacity is the cache PVC's size when cacheCapacity is unset (the reference's).
var defaultCacheCapacity = resource.MustParse("1Gi")

// side is what both directions share: the spec.restic fields common to both and the Job
// they make.
type side struct {
	jobmover.Side
	repository   string
	ca           v1alpha1.CustomCASpec
	cache        v1alpha1.ResticCacheSpec
	config       *v1alpha1.MoverConfig
	storageClass *string
	accessModes  []corev1.PersistentVolumeAccessMode
	cleanupCache bool
	// secret is the repository Secret read for this reconcile (nil before job).
	secret *corev1.Secret
}

// cacheName is the cache PVC's name: volsync-<src|dst>-<obj>-cache (the reference's).
func (s *side) cacheName() string {
	return naming.Secret("volsync-"+s.Role.Abbrev()+"-", s.Owner.GetName()+"-cache")
}

// ensureCache returns the cache PVC, made if missing: cacheCapacity (1Gi), cacheStorageClassName
// (else storageClassName), cacheAccessModes (else accessModes, else the data volume's).
func (s *side) ensureCache(ctx context.Context, data *corev1.PersistentVolumeClaim) (*corev1.PersistentVolumeClaim, error) {
	v := pit.ExtraVolume{Name: s.cacheName(), Capacity: ptr.Deref(s.cache.CacheCapacity, defaultCacheCapacity),
		StorageClassName: s.cache.CacheStorageClassName, AccessModes: s.cache.CacheAccessModes, Cleanup: s.cleanupCache}
	if v.StorageClassName == nil {
		v.StorageClassName = s.storageClass
	}
	if len(v.AccessModes) == 0 {
		v.AccessModes = s.accessModes
	}
	if len(v.AccessModes) == 0 {
		v.AccessModes = data.Spec.AccessModes
	}
	pvc, wait, err := s.PiT.Extra(ctx, v)
	if err != nil {
		return nil, err
	}
	if pvc == nil {
		return nil, &jobmover.PendingError{What: "the cache volume " + v.Name, After: wait.RequeueAfter}
	}
	return pvc, nil
}

// job checks the repository Secret and customCA, ensures the cache volume and returns the
// mover Job of data running args with env added. Problems the user must fix are mover.ActionRequired
// errors; nothing is created before they are fixed.
func (s *side) job(ctx context.Context, args []string, env []corev1.EnvVar, d map[string]string,
	paused bool, method v1alpha1.CopyMethodType, data *corev1.PersistentVolumeClaim) (jobmover.Job, error) {
	ns := s.Owner.GetNamespace()
	secret, err := secrets.Required(ctx, s.Env.Users, ns, s.repository, "repository",
		secrets.HasKeys(resticcontract.EnvRepository, resticcontract.EnvPassword))
	if err != nil {
		return jobmover.Job{}, err
	}
	s.secret = secret
	ca, err := customca.Ensure(ctx, s.Env.Users, ns, s.ca, "customCA", customca.Where{
		Dir: resticcontract.CustomCADir, File: resticcontract.CustomCAFile, Env: resticcontract.EnvCustomCA})
	if err != nil {
		return jobmover.Job{}, err
	}
	cache, err := s.ensureCache(ctx, data)
	if err != nil {
		return jobmover.Job{}, err
	}
	j := jobmover.Job{
		Args: args,
		Env: append(append(secretEnv(secret), env...),
			corev1.EnvVar{Name: resticcontract.EnvCacheDir, Value: resticcontract.CacheDir}),
		Volumes: []corev1.Volume{{Name: cacheVolume, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: cache.Name}}}},
		Mounts:     []corev1.VolumeMount{{Name: cacheVolume, MountPath: resticcontract.CacheDir}},
		Config:     s.config,
		Paused:     paused,
		CopyMethod: method, ServiceAccount: s.config.MoverServiceAccount,
		Decisions: d,
		Tuning:    tuning(s.Role, ns, s.Owner.GetName(), s.Owner.GetGeneration(), secret.ResourceVersion),
	}
	if _, ok := secret.Data[resticcontract.EnvGoogleCredentials]; ok {
		j.Mount(corev1.Volume{Name: gcsVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: secret.Name, DefaultMode: ptr.To(credentialsFileMode),
			Items: []corev1.KeyToPath{{Key: resticcontract.EnvGoogleCredentials, Path: resticcontract.GCSCredentialsFile}},
		}}}, corev1.VolumeMount{Name: gcsVolume, MountPath: resticcontract.CredentialsDir, ReadOnly: true},
			corev1.EnvVar{Name: resticcontract.EnvGoogleCredentials,
				Value: resticcontract.CredentialsDir + "/" + resticcontract.GCSCredentialsFile})
	}
	if ca != nil {
		j.Mount(ca.Volume, ca.Mount, ca.Env)
	}
	return j, nil
}

// secretEnv passes the repository Secret's keys to the mover, by reference: the two required
// ones, the reference's optional keys the Secret has, and its RCLONE_* keys (restic's rclone
// backend).
func secretEnv(s *corev1.Secret) []corev1.EnvVar {
	env := []corev1.EnvVar{required(s, resticcontract.EnvRepository), required(s, resticcontract.EnvPassword)}
	var keys []string
	for _, k := range resticcontract.OptionalKeys {
		if _, ok := s.Data[k]; ok {
			keys = append(keys, k)
		}
	}
	keys = append(keys, secrets.KeysWithPrefix(s, resticcontract.SecretEnvPrefix, nil)...)
	return append(env, secrets.KeyRefs(s, keys...)...)
}

// required is a key the mover cannot start without.
func required(s *corev1.Secret, key string) corev1.EnvVar {
	e := secrets.KeyRefs(s, key)[0]
	e.ValueFrom.SecretKeyRef.Optional = nil
	return e
}

// forgetSecret makes the next reconcile read the repository Secret live again: after the
// mover gave up, the user's fix is probably there.
func (s *side) forgetSecret(err error) {
	var action *mover.ActionError
	if s.secret != nil && errors.As(err, &action) {
		s.Env.Users.Forget(s.secret)
	}
}

// restoreEnv is a destination's restore selection.
func restoreEnv(spec *v1alpha1.ReplicationDestinationResticSpec) []corev1.EnvVar {
	opts := ""
	if spec.EnableFileDeletion {
		opts = resticcontract.RestoreDelete
	}
	return []corev1.EnvVar{
		{Name: resticcontract.EnvRestoreAsOf, Value: ptr.Deref(spec.RestoreAsOf, "")},
		{Name: resticcontract.EnvSelectPrevious, Value: strconv.Itoa(int(ptr.Deref(spec.Previous, 0)))},
		{Name: resticcontract.EnvRestoreOptions, Value: opts},
	}
}

// resumeKey identifies the configuration a Job runs with: a mover that gave up starts again
// when it changes.
func resumeKey(generation int64, secretVersion string) string {
	return fmt.Sprintf("%d/%s", generation, secretVersion)
}

// tuning is the Job tuning of every restic mover: the pods of an object share a host name
// (restic's locks), failures the user must fix fail the Job at once and, after giveUpAfter
// such Jobs, wait for a change of the object or of its repository Secret.
func tuning(role naming.Role, ns, name string, generation int64, secretVersion string) jobs.Tuning {
	return jobs.Tuning{
		BackoffLimit: ptr.To(backoffLimit), Hostname: lockHost(role, ns, name),
		FailFast: []int32{resticcontract.ExitUserAction}, GiveUpAfter: giveUpAfter,
		ResumeKey: resumeKey(generation, secretVersion),
	}
}
