package apitests

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

const validationNamespace = "validation"

// object builds a ReplicationSource or ReplicationDestination from the YAML of its spec.
func object(t *testing.T, kind, name, spec string) *unstructured.Unstructured {
	t.Helper()
	doc := fmt.Sprintf("apiVersion: volsync.backube/v1alpha1\nkind: %s\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s",
		kind, name, validationNamespace, indent(spec, "  "))
	obj := &unstructured.Unstructured{}
	if err := yaml.UnmarshalStrict([]byte(doc), &obj.Object); err != nil {
		t.Fatalf("bad test YAML for %s: %v\n%s", name, err, doc)
	}
	return obj
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

const (
	rs = "ReplicationSource"
	rd = "ReplicationDestination"
)

// A minimal valid destination block, to build invalid ones from.
const rdVolume = "capacity: 1Gi\naccessModes: [ReadWriteOnce]\n"

type invalidCase struct {
	name  string
	kind  string
	spec  string
	field string // the field the error must name
	msg   string // a fragment of the message the user sees
}

var invalidCases = []invalidCase{
	{"rs-no-method", rs, "sourcePVC: data\n", "spec", "exactly one of rsync, rsyncTLS, rclone, restic, syncthing or external must be set"},
	{"rs-two-methods", rs, "sourcePVC: data\nrsyncTLS: {}\nrestic:\n  repository: repo\n", "spec", "exactly one of"},
	{"rs-method-and-external", rs, "sourcePVC: data\nrsyncTLS: {}\nexternal:\n  provider: example.com/x\n", "spec", "exactly one of"},
	{"rd-no-method", rd, "trigger:\n  manual: once\n", "spec", "exactly one of rsync, rsyncTLS, rclone, restic or external must be set"},
	{"rd-syncthing", rd, "syncthing: {}\nrsyncTLS:\n" + indent(rdVolume, "  "), "spec.syncthing", "unknown field"},
	{"rs-missing-sourcepvc", rs, "rsyncTLS:\n  address: dest.example.com\n", "spec.sourcePVC", "sourcePVC is required"},
	{"rd-copymethod-clone", rd, "rsyncTLS:\n  copyMethod: Clone\n" + indent(rdVolume, "  "), "spec.rsyncTLS.copyMethod", "copyMethod Clone is not supported on a ReplicationDestination"},
	{"rs-copymethod-unknown", rs, "sourcePVC: data\nrsyncTLS:\n  copyMethod: Copy\n", "spec.rsyncTLS.copyMethod", "Unsupported value"},
	{"rd-missing-capacity", rd, "rsyncTLS:\n  accessModes: [ReadWriteOnce]\n", "spec.rsyncTLS.capacity", "capacity is required unless destinationPVC is set"},
	{"rd-missing-accessmodes", rd, "rclone:\n  capacity: 1Gi\n  rcloneConfig: c\n  rcloneConfigSection: s\n  rcloneDestPath: p\n", "spec.rclone.accessModes", "accessModes is required unless destinationPVC is set"},
	{"rd-empty-accessmodes", rd, "rsync:\n  capacity: 1Gi\n  accessModes: []\n", "spec.rsync.accessModes", "at least 1 items"},
	{"customca-both-names", rs, "sourcePVC: data\nrclone:\n  rcloneConfig: c\n  rcloneConfigSection: s\n  rcloneDestPath: p\n  customCA:\n    secretName: a\n    configMapName: b\n    key: ca.crt\n", "spec.rclone.customCA", "set at most one of secretName and configMapName"},
	{"customca-missing-key", rs, "sourcePVC: data\nrestic:\n  repository: repo\n  customCA:\n    configMapName: b\n", "spec.restic.customCA.key", "key is required when secretName or configMapName is set"},
	{"schedule-six-fields", rs, "sourcePVC: data\ntrigger:\n  schedule: \"*/30 * * * * *\"\nrsyncTLS: {}\n", "spec.trigger.schedule", "should match"},
	{"schedule-descriptor-suffix", rs, "sourcePVC: data\ntrigger:\n  schedule: \"@hourlyXYZ\"\nrsyncTLS: {}\n", "spec.trigger.schedule", "should match"},
	{"schedule-leading-garbage", rd, "trigger:\n  schedule: \"x 0 * * * *\"\nrsyncTLS:\n" + indent(rdVolume, "  "), "spec.trigger.schedule", "should match"},
	{"schedule-minute-out-of-range", rs, "sourcePVC: data\ntrigger:\n  schedule: \"60 * * * *\"\nrsyncTLS: {}\n", "spec.trigger.schedule", "should match"},
	{"schedule-hour-out-of-range", rs, "sourcePVC: data\ntrigger:\n  schedule: \"0 24 * * *\"\nrsyncTLS: {}\n", "spec.trigger.schedule", "should match"},
	{"schedule-zero-step", rs, "sourcePVC: data\ntrigger:\n  schedule: \"*/0 * * * *\"\nrsyncTLS: {}\n", "spec.trigger.schedule", "should match"},
	{"manual-too-long", rs, "sourcePVC: data\ntrigger:\n  manual: " + strings.Repeat("m", 254) + "\nrsyncTLS: {}\n", "spec.trigger.manual", "Too long"},
	{"restoreasof-not-rfc3339", rd, "restic:\n  repository: repo\n  restoreAsOf: yesterday\n" + indent(rdVolume, "  "), "spec.restic.restoreAsOf", "date-time"},
	{"restoreasof-no-zone", rd, "restic:\n  repository: repo\n  restoreAsOf: \"2024-01-02T03:04:05\"\n" + indent(rdVolume, "  "), "spec.restic.restoreAsOf", "date-time"},
	{"rsynctls-port-zero", rs, "sourcePVC: data\nrsyncTLS:\n  port: 0\n", "spec.rsyncTLS.port", "greater than or equal to 1"},
	{"rsync-port-too-big", rd, "rsync:\n  port: 65536\n" + indent(rdVolume, "  "), "spec.rsync.port", "less than or equal to 65535"},
	{"syncthing-peer-no-id", rs, "sourcePVC: data\nsyncthing:\n  peers:\n  - address: tcp://192.0.2.1:22000\n", "spec.syncthing.peers[0].ID", "Required value"},
	{"syncthing-peer-empty-address", rs, "sourcePVC: data\nsyncthing:\n  peers:\n  - address: \"\"\n    ID: ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ23-4567ABC-DEFGHIJ-KLMNOPQ-RSTUVWX\n", "spec.syncthing.peers[0].address", "at least 1 chars"},
	{"syncthing-peer-id-malformed", rs, "sourcePVC: data\nsyncthing:\n  peers:\n  - address: tcp://192.0.2.1:22000\n    ID: ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ23-4567ABC-DEFGHIJ-KLMNOPQ-RSTUVW1\n", "spec.syncthing.peers[0].ID", "must be a Syncthing device ID"},
	{"syncthing-peer-id-short", rs, "sourcePVC: data\nsyncthing:\n  peers:\n  - address: tcp://192.0.2.1:22000\n    ID: AAAAAAA\n", "spec.syncthing.peers[0].ID", "at least 63 chars"},
	{"syncthing-peer-address-scheme", rs, "sourcePVC: data\nsyncthing:\n  peers:\n  - address: 192.0.2.1:22000\n    ID: ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ23-4567ABC-DEFGHIJ-KLMNOPQ-RSTUVWX\n", "spec.syncthing.peers[0].address", "must be a Syncthing address"},
	{"syncthing-peer-duplicate", rs, "sourcePVC: data\nsyncthing:\n  peers:\n  - address: tcp://192.0.2.1:22000\n    ID: ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ23-4567ABC-DEFGHIJ-KLMNOPQ-RSTUVWX\n  - address: tcp://192.0.2.2:22000\n    ID: ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ23-4567ABC-DEFGHIJ-KLMNOPQ-RSTUVWX\n", "spec.syncthing.peers", "each peer ID may appear only once"},
	{"restic-previous-negative", rd, "restic:\n  repository: repo\n  previous: -1\n" + indent(rdVolume, "  "), "spec.restic.previous", "greater than or equal to 0"},
	{"restic-retain-negative", rs, "sourcePVC: data\nrestic:\n  repository: repo\n  retain:\n    daily: -2\n", "spec.restic.retain.daily", "greater than or equal to 0"},
	{"restic-retain-last-words", rs, "sourcePVC: data\nrestic:\n  repository: repo\n  retain:\n    last: five\n", "spec.restic.retain.last", "last must be a non-negative whole number"},
	{"restic-retain-last-negative", rs, "sourcePVC: data\nrestic:\n  repository: repo\n  retain:\n    last: -1\n", "spec.restic.retain.last", "last must be a non-negative whole number"},
	{"restic-retain-within-words", rs, "sourcePVC: data\nrestic:\n  repository: repo\n  retain:\n    within: 3 days\n", "spec.restic.retain.within", "should match"},
	{"restic-prune-negative", rs, "sourcePVC: data\nrestic:\n  repository: repo\n  pruneIntervalDays: -7\n", "spec.restic.pruneIntervalDays", "greater than or equal to 0"},
	{"restic-no-repository", rs, "sourcePVC: data\nrestic:\n  copyMethod: Clone\n", "spec.restic.repository", "Required value"},
	{"rclone-no-config", rs, "sourcePVC: data\nrclone:\n  rcloneConfigSection: s\n  rcloneDestPath: p\n", "spec.rclone.rcloneConfig", "rcloneConfig (the name of a Secret holding rclone.conf) is required"},
	{"storageclass-too-long", rs, "sourcePVC: data\nrsyncTLS:\n  storageClassName: " + strings.Repeat("s", 254) + "\n", "spec.rsyncTLS.storageClassName", "Too long"},
	{"too-many-pod-labels", rs, "sourcePVC: data\nrsyncTLS:\n  moverPodLabels:\n" + manyLabels(65), "spec.rsyncTLS.moverPodLabels", "Too many"},
	{"service-type-externalname", rd, "rsyncTLS:\n  serviceType: ExternalName\n" + indent(rdVolume, "  "), "spec.rsyncTLS.serviceType", "Unsupported value"},
	{"mover-volume-two-sources", rs, "sourcePVC: data\nrsyncTLS:\n  moverVolumes:\n  - mountPath: extra\n    volumeSource:\n      secret: {secretName: s}\n      persistentVolumeClaim: {claimName: c}\n", "spec.rsyncTLS.moverVolumes[0].volumeSource", "exactly one of secret, nfs or persistentVolumeClaim must be set"},
	{"mover-volume-dotdot", rs, "sourcePVC: data\nrsyncTLS:\n  moverVolumes:\n  - mountPath: a/../../etc\n    volumeSource:\n      secret: {secretName: s}\n", "spec.rsyncTLS.moverVolumes[0].mountPath", "must not contain . or .. path elements"},
	{"volume-mode-unknown", rd, "rsyncTLS:\n  volumeMode: Raw\n" + indent(rdVolume, "  "), "spec.rsyncTLS.volumeMode", "Unsupported value"},
	{"rsynctls-volume-mode-block", rd, "rsyncTLS:\n  volumeMode: Block\n" + indent(rdVolume, "  "), "spec.rsyncTLS.volumeMode", "only Filesystem is supported by rsyncTLS for now"},
	{"rd-copymethod-empty", rd, "rsyncTLS:\n  copyMethod: \"\"\n" + indent(rdVolume, "  "), "spec.rsyncTLS.copyMethod", "Unsupported value"},
	{"schedule-reversed-minutes", rs, "sourcePVC: data\ntrigger:\n  schedule: \"30-10 * * * *\"\nrsyncTLS: {}\n", "spec.trigger.schedule", "range whose start is after its end"},
	{"schedule-reversed-days", rd, "trigger:\n  schedule: \"0 0 * * fri-mon\"\nrsyncTLS:\n" + indent(rdVolume, "  "), "spec.trigger.schedule", "range whose start is after its end"},
	{"schedule-30-february", rs, "sourcePVC: data\ntrigger:\n  schedule: \"0 0 30 2 *\"\nrsyncTLS: {}\n", "spec.trigger.schedule", "schedule never fires"},
	{"schedule-31-short-months", rd, "trigger:\n  schedule: \"0 0 31 apr-jun/2,9,nov *\"\nrsyncTLS:\n" + indent(rdVolume, "  "), "spec.trigger.schedule", "schedule never fires"},
	{"schedule-huge-step", rs, "sourcePVC: data\ntrigger:\n  schedule: \"*/99999999999999999999 * * * *\"\nrsyncTLS: {}\n", "spec.trigger.schedule", "should match"},
	{"schedule-too-long", rs, "sourcePVC: data\ntrigger:\n  schedule: \"0" + strings.Repeat(",0", 600) + " * * * *\"\nrsyncTLS: {}\n", "spec.trigger.schedule", "Too long"},
	{"mover-volume-absolute", rs, "sourcePVC: data\nrsyncTLS:\n  moverVolumes:\n  - mountPath: /etc\n    volumeSource:\n      secret: {secretName: s}\n", "spec.rsyncTLS.moverVolumes[0].mountPath", "mountPath must be a relative directory path"},
	{"mover-volume-double-slash", rd, "rsyncTLS:\n  moverVolumes:\n  - mountPath: a//b\n    volumeSource:\n      secret: {secretName: s}\n" + indent(rdVolume, "  "), "spec.rsyncTLS.moverVolumes[0].mountPath", "mountPath must be a relative directory path"},
	{"mover-volume-space", rs, "sourcePVC: data\nrclone:\n  rcloneConfig: c\n  rcloneConfigSection: s\n  rcloneDestPath: p\n  moverVolumes:\n  - mountPath: my certs\n    volumeSource:\n      secret: {secretName: s}\n", "spec.rclone.moverVolumes[0].mountPath", "mountPath must be a relative directory path"},
	{"mover-volume-duplicate", rs, "sourcePVC: data\nrsyncTLS:\n  moverVolumes:\n  - mountPath: certs\n    volumeSource:\n      secret: {secretName: a}\n  - mountPath: certs\n    volumeSource:\n      secret: {secretName: b}\n", "spec.rsyncTLS.moverVolumes[1]", "Duplicate value"},
}

func manyLabels(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    l%d: v\n", i)
	}
	return b.String()
}

// TestInvalidObjectsAreRejected checks that each invalid object is refused by the API server
// with an error that names the offending field and says what is wrong.
func TestInvalidObjectsAreRejected(t *testing.T) {
	ensureNamespace(testContext(t), t, validationNamespace)
	for _, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			obj := object(t, tc.kind, tc.name, tc.spec)
			err := env.Client.Create(ctx, obj, strict)
			if err == nil {
				_ = env.Client.Delete(ctx, obj)
				t.Fatalf("the API server accepted an invalid %s (%s)", tc.kind, tc.name)
			}
			var status apierrors.APIStatus
			if !errors.As(err, &status) {
				t.Fatalf("want an API error, got %v", err)
			}
			if details := status.Status().Details; details != nil {
				for _, cause := range details.Causes {
					if cause.Field == tc.field && strings.Contains(cause.Message, tc.msg) {
						return
					}
				}
			}
			// Decoding errors (unknown fields) carry no causes; the field is quoted in the message.
			if msg := status.Status().Message; strings.Contains(msg, `"`+tc.field+`"`) && strings.Contains(msg, tc.msg) {
				return
			}
			t.Fatalf("no error names field %q with %q; got: %v", tc.field, tc.msg, err)
		})
	}
}

// TestValidEdgeCasesAreAccepted pins the forms the rules above must keep accepting.
func TestValidEdgeCasesAreAccepted(t *testing.T) {
	ensureNamespace(testContext(t), t, validationNamespace)
	schedules := []string{
		"@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually",
		"*/5 * * * *", "0 0 * * *", "3,9,15,21 * * * *", "0-30/10 1-5 * * *",
		"15 2 1 JAN,jul MON-FRI", "0 12 ? * sun", "59 23 31 12 6", "5/15 * * * *", "0 0\t1 * *",
		// Odd but firing: the day-of-week field widens a missing day of month (either matches),
		// a list or step reaches a long month, 29 February comes in leap years.
		"0 0 30 2 mon", "0 0 31 4,6,9,11 fri", "0 0 30,1 feb *", "0 0 31 1-12/2 *", "0 0 29 feb *",
		"0 0 31 */1 *", "0 22-23,0-2 * * *", "0 0 * mar-mar *", "*/999 * * * *",
	}
	valid := []struct{ name, kind, spec string }{
		{"rd-destinationpvc-only", rd, "rsyncTLS:\n  destinationPVC: existing\n  copyMethod: Direct\n"},
		{"rd-copymethod-none", rd, "rsync:\n  copyMethod: None\n" + indent(rdVolume, "  ")},
		{"rs-external", rs, "external:\n  provider: example.com/x\n  parameters: {a: b}\n"},
		{"retain-last-number", rs, "sourcePVC: data\nrestic:\n  repository: repo\n  retain:\n    last: 5\n"},
		{"retain-last-string", rs, "sourcePVC: data\nrestic:\n  repository: repo\n  retain:\n    last: \"5\"\n"},
		{"customca-configmap", rs, "sourcePVC: data\nrestic:\n  repository: repo\n  customCA:\n    configMapName: ca\n    key: ca.crt\n"},
		{"restoreasof-rfc3339", rd, "restic:\n  repository: repo\n  restoreAsOf: \"2022-08-10T20:01:03-04:00\"\n" + indent(rdVolume, "  ")},
		{"ports-bounds", rs, "sourcePVC: data\nrsyncTLS:\n  port: 65535\n"},
		{"rsynctls-volume-mode-filesystem", rd, "rsyncTLS:\n  volumeMode: Filesystem\n" + indent(rdVolume, "  ")},
		{"rsync-volume-mode-block", rd, "rsync:\n  volumeMode: Block\n" + indent(rdVolume, "  ")},
		{"mover-volume-paths", rs, "sourcePVC: data\nrsyncTLS:\n  moverVolumes:\n  - mountPath: a/b.c/-d_e\n    volumeSource:\n      secret: {secretName: s}\n  - mountPath: a/b.c/...\n    volumeSource:\n      secret: {secretName: s}\n"},
	}
	for i, s := range schedules {
		valid = append(valid, struct{ name, kind, spec string }{
			fmt.Sprintf("schedule-%02d", i), rs, fmt.Sprintf("sourcePVC: data\ntrigger:\n  schedule: %q\nrsyncTLS: {}\n", s),
		})
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			obj := object(t, tc.kind, "ok-"+tc.name, tc.spec)
			if err := env.Client.Create(ctx, obj, strict); err != nil {
				t.Fatalf("valid %s rejected: %v", tc.kind, err)
			}
		})
	}
}

// TestDestinationCopyMethodDefaultsToDirect: a destination without copyMethod gets Direct from
// the API server (the reference accepted it, moved the data and then failed forever).
func TestDestinationCopyMethodDefaultsToDirect(t *testing.T) {
	ctx := testContext(t)
	ensureNamespace(ctx, t, validationNamespace)
	for _, method := range []string{"rsyncTLS", "rsync"} {
		obj := object(t, rd, "default-copymethod-"+strings.ToLower(method), method+":\n"+indent(rdVolume, "  "))
		if err := env.Client.Create(ctx, obj, strict); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		got, _, err := unstructured.NestedString(obj.Object, "spec", method, "copyMethod")
		if err != nil || got != string(v1alpha1.CopyMethodDirect) {
			t.Errorf("%s: copyMethod = %q (%v), want the default %s", method, got, err, v1alpha1.CopyMethodDirect)
		}
	}
}
