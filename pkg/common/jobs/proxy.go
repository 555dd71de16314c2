package jobs

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// proxyVars are the manager's proxy variables handed to movers that talk to the outside
// (rclone, restic, syncthing; the reference does not give them to rsync or rsync-TLS).
var proxyVars = []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"}

// ProxyEnv returns the proxy environment of the manager (read with getenv, e.g. os.Getenv)
// for Spec.Proxy: each variable that is set, under its upper- and its lower-case name, since
// tools disagree on which one they read. The upper-case name wins when the manager has both.
func ProxyEnv(getenv func(string) string) []corev1.EnvVar {
	var env []corev1.EnvVar
	for _, upper := range proxyVars {
		lower := strings.ToLower(upper)
		v := getenv(upper)
		if v == "" {
			v = getenv(lower)
		}
		if v == "" {
			continue
		}
		env = append(env, corev1.EnvVar{Name: upper, Value: v}, corev1.EnvVar{Name: lower, Value: v})
	}
	return env
}
