//go:build e2e

package s3

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// Image is the S3 server's image: E2E_S3_IMAGE or the locally built versitygw
// (hack/images/images.conf), whose entrypoint is the versitygw binary.
var Image = cluster.EnvOr("E2E_S3_IMAGE", "localhost/versitygw:dev")

const (
	// name names the Deployment, its Service and the label selecting its pod.
	name = "versitygw"
	// Port is the S3 port of the Service and the container.
	Port = 7070
	// Region is the region the server answers for (versitygw's default).
	Region = "us-east-1"
	// uid runs the server (the image's user, nonroot).
	uid int64 = 65532
	// readyTimeout bounds the server's start, from creation to a ready endpoint.
	readyTimeout = 3 * time.Minute
)

// Names of the Secrets of a server's namespace.
const (
	rootSecret = "versitygw-root"
	tlsSecret  = "versitygw-tls"
	caSecret   = "versitygw-ca"
	accessKey  = "access-key"
	secretKey  = "secret-key"
)

// Server is an S3 server running in the cluster, in a namespace of its own.
type Server struct {
	// Namespace holds the server and its Secrets.
	Namespace string
	// Endpoint is the S3 endpoint pods use: http(s)://versitygw.<namespace>.svc:7070.
	Endpoint string
	// AccessKey and SecretKey are the root user's credentials (random).
	AccessKey, SecretKey string
	// CA is the PEM certificate of the CA that signed the server's certificate; nil when the
	// server speaks plain HTTP.
	CA []byte
}

// Deploy starts a versitygw S3 server (posix backend on an emptyDir) as a Deployment and a
// Service in a new namespace prefix-<random> that enforces the restricted Pod Security
// Standard; with withTLS it serves HTTPS with a certificate, for the Service's DNS names,
// signed by a CA generated here. It does not wait: WaitReady does.
func Deploy(t *testing.T, prefix string, withTLS bool) *Server {
	t.Helper()
	ns := cluster.Namespace(t, prefix)
	s := &Server{Namespace: ns, AccessKey: randomKey(10), SecretKey: randomKey(20), Endpoint: "http://" + host(ns)}
	ctx := cluster.Ctx(t, time.Minute)
	cluster.Must(t, cluster.C.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: rootSecret, Namespace: ns},
		StringData: map[string]string{accessKey: s.AccessKey, secretKey: s.SecretKey}}))
	args := []string{"--port", fmt.Sprintf(":%d", Port), "--health", "/health", "--region", Region}
	scheme := corev1.URISchemeHTTP
	dep := deployment(ns)
	if withTLS {
		c, err := newCerts(dnsNames(ns))
		cluster.Must(t, err)
		s.CA, s.Endpoint, scheme = c.CA, "https://"+host(ns), corev1.URISchemeHTTPS
		cluster.Must(t, cluster.C.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: tlsSecret, Namespace: ns},
			Type: corev1.SecretTypeTLS, Data: map[string][]byte{corev1.TLSCertKey: c.Cert, corev1.TLSPrivateKeyKey: c.Key}}))
		cluster.Must(t, cluster.C.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: caSecret, Namespace: ns},
			Data: map[string][]byte{"ca.crt": c.CA}}))
		args = append(args, "--cert", "/tls/"+corev1.TLSCertKey, "--key", "/tls/"+corev1.TLSPrivateKeyKey)
		mountSecret(&dep.Spec.Template.Spec, tlsSecret, "/tls")
	}
	args = append(args, "posix", "/data")
	ctr := &dep.Spec.Template.Spec.Containers[0]
	ctr.Args = args
	ctr.ReadinessProbe.HTTPGet.Scheme = scheme
	cluster.Must(t, cluster.C.Create(ctx, dep))
	cluster.Must(t, cluster.C.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{
			Name: "s3", Port: Port, TargetPort: intstr.FromInt32(Port)}}},
	}))
	t.Logf("S3 server %s (TLS %v) in %s", s.Endpoint, withTLS, ns)
	return s
}

// host is the Service's address as pods reach it.
func host(ns string) string { return fmt.Sprintf("%s.%s.svc:%d", name, ns, Port) }

// dnsNames are the names pods may use for the Service, as the server certificate holds them.
func dnsNames(ns string) []string {
	return []string{name + "." + ns + ".svc", name, name + "." + ns, name + "." + ns + ".svc.cluster.local"}
}

// randomKey returns n random bytes, hex-encoded.
func randomKey(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on Linux
	return hex.EncodeToString(b)
}

// deployment is the server's Deployment, without its arguments: unprivileged under the
// restricted Pod Security Standard with a read-only root filesystem, the root credentials from
// the Secret in the environment, the data on an emptyDir.
func deployment(ns string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	env := func(v, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: v, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: rootSecret}, Key: key}}}
	}
	spec := corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(uid), RunAsGroup: ptr.To(uid),
			FSGroup: ptr.To(uid), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{
			Name: name, Image: Image, ImagePullPolicy: corev1.PullIfNotPresent,
			Env:   []corev1.EnvVar{env("ROOT_ACCESS_KEY_ID", accessKey), env("ROOT_SECRET_ACCESS_KEY", secretKey)},
			Ports: []corev1.ContainerPort{{Name: "s3", ContainerPort: Port}},
			ReadinessProbe: &corev1.Probe{PeriodSeconds: 2, ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/health", Port: intstr.FromInt32(Port)}}},
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "tmp", MountPath: "/tmp"}},
		}},
		Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
		TerminationGracePeriodSeconds: ptr.To(int64(1)),
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}},
	}
}

// mountSecret mounts a Secret read-only at dir in the pod's first container.
func mountSecret(spec *corev1.PodSpec, secret, dir string) {
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: secret, VolumeSource: corev1.VolumeSource{
		Secret: &corev1.SecretVolumeSource{SecretName: secret}}})
	spec.Containers[0].VolumeMounts = append(spec.Containers[0].VolumeMounts,
		corev1.VolumeMount{Name: secret, MountPath: dir, ReadOnly: true})
}

// WaitReady waits until the server's Service has a ready endpoint.
func (s *Server) WaitReady(t *testing.T) {
	t.Helper()
	ctx := cluster.Ctx(t, readyTimeout)
	cluster.Eventually(t, readyTimeout, "S3 server in "+s.Namespace+" to be ready", func() error {
		slices := &discoveryv1.EndpointSliceList{}
		if err := cluster.C.List(ctx, slices, client.InNamespace(s.Namespace),
			client.MatchingLabels{discoveryv1.LabelServiceName: name}); err != nil {
			return err
		}
		for _, sl := range slices.Items {
			for _, ep := range sl.Endpoints {
				if ptr.Deref(ep.Conditions.Ready, false) {
					return nil
				}
			}
		}
		return errors.New(s.describe(t))
	})
}

// describe says why the server is not ready: its pods' phases and container states.
func (s *Server) describe(t *testing.T) string {
	t.Helper()
	pods := &corev1.PodList{}
	if err := cluster.C.List(cluster.Ctx(t, time.Minute), pods, client.InNamespace(s.Namespace),
		client.MatchingLabels{"app": name}); err != nil {
		return err.Error()
	}
	out := fmt.Sprintf("no ready endpoint; %d pods", len(pods.Items))
	for _, p := range pods.Items {
		out += fmt.Sprintf("; %s %s", p.Name, p.Status.Phase)
		for _, cs := range p.Status.ContainerStatuses {
			switch {
			case cs.State.Waiting != nil:
				out += fmt.Sprintf(" waiting %s: %s", cs.State.Waiting.Reason, cs.State.Waiting.Message)
			case cs.State.Terminated != nil:
				out += fmt.Sprintf(" terminated %s (exit %d)", cs.State.Terminated.Reason, cs.State.Terminated.ExitCode)
			}
			if cs.RestartCount > 0 {
				out += fmt.Sprintf(" restarts %d: %s", cs.RestartCount, cluster.Logs(t, s.Namespace, p.Name))
			}
		}
	}
	return out
}
