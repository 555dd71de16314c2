package rclone

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/mover"
	rclonecontract "github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/pkg/common/customca"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/secrets"
)

const (
	directionSource      = rclonecontract.DirectionSource
	directionDestination = rclonecontract.DirectionDestination
	// configVolume is the pod volume of the rcloneConfig Secret (the reference's name).
	configVolume = "rclone-secret"
	// configFileMode: readable by whatever uid the mover runs as (65534, the user's runAsUser
	// or root). The volume is private to the mover pod, whose one process is the mover.
	configFileMode int32 = 0o444
)

// job checks the user's configuration (rcloneConfig Secret with rclone.conf and the section,
// customCA) and returns the mover Job of direction. Problems the user must fix are
// mover.ActionRequired errors; nothing is created before they are fixed.
func (s side) job(ctx context.Context, direction string, paused bool, method v1alpha1.CopyMethodType) (jobmover.Job, error) {
	ns := s.Owner.GetNamespace()
	section := ptr.Deref(s.spec.RcloneConfigSection, "")
	secret, err := secrets.Required(ctx, s.Env.Users, ns, ptr.Deref(s.spec.RcloneConfig, ""), "rcloneConfig", checkConfig(section))
	if err != nil {
		return jobmover.Job{}, err
	}
	ca, err := customca.Ensure(ctx, s.Env.Users, ns, s.spec.CustomCA, "customCA", customca.Where{
		Dir: rclonecontract.CustomCADir, File: rclonecontract.CustomCAFile, Env: rclonecontract.EnvCustomCA})
	if err != nil {
		return jobmover.Job{}, err
	}
	j := jobmover.Job{
		Env: append(secretEnv(secret), []corev1.EnvVar{
			{Name: rclonecontract.EnvConfig, Value: rclonecontract.ConfigDir + "/" + rclonecontract.ConfigKey},
			{Name: rclonecontract.EnvDestPath, Value: ptr.Deref(s.spec.RcloneDestPath, "")},
			{Name: rclonecontract.EnvDirection, Value: direction},
			{Name: rclonecontract.EnvMountPath, Value: contract.DataDir},
			{Name: rclonecontract.EnvConfigSection, Value: section},
		}...),
		Volumes: []corev1.Volume{{Name: configVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: secret.Name, DefaultMode: ptr.To(configFileMode),
			Items: []corev1.KeyToPath{{Key: rclonecontract.ConfigKey, Path: rclonecontract.ConfigKey}},
		}}}},
		Mounts:     []corev1.VolumeMount{{Name: configVolume, MountPath: rclonecontract.ConfigDir, ReadOnly: true}},
		Config:     &s.spec.MoverConfig,
		Paused:     paused,
		CopyMethod: method, ServiceAccount: s.spec.MoverServiceAccount,
	}
	if ca != nil {
		j.Mount(ca.Volume, ca.Mount, ca.Env)
	}
	return j, nil
}

// secretEnv passes every RCLONE_* key of the configuration Secret to the mover (rclone reads
// RCLONE_<FLAG> as --<flag>), sorted. The controller's own variables come after them and win.
func secretEnv(s *corev1.Secret) []corev1.EnvVar {
	return secrets.KeyRefs(s, secrets.KeysWithPrefix(s, rclonecontract.SecretEnvPrefix, reserved)...)
}

// reserved are the variables the controller sets itself: a Secret key of the same name is
// not passed (the reference passed both, the later winning).
var reserved = map[string]bool{
	rclonecontract.EnvConfig: true, rclonecontract.EnvDestPath: true, rclonecontract.EnvConfigSection: true,
}
