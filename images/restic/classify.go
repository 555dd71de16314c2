package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/volsync-go/volsync/images/contract/restic"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1 // Kubernetes runs the pod again
	ExitUsage  = 2 // configuration error: nothing was done
)

// Failure is a failed action: its one-line reason, the reason's class (restic.Reason*, ""
// for others) and the mover's exit code.
type Failure struct {
	Reason string
	Msg    string
	Code   int
}

func (f *Failure) Error() string { return f.Msg }

// userAction is a failure that only the user can fix.
func userAction(reason, format string, args ...any) *Failure {
	return &Failure{Reason: reason, Msg: fmt.Sprintf(format, args...), Code: restic.ExitUserAction}
}

var (
	// untrusted: a TLS certificate the mover does not trust.
	untrusted = regexp.MustCompile(`(x509: [^"\n]*)|(tls: failed to verify certificate[^"\n]*)`)
	// denied: the backend refused the credentials or the access.
	denied = regexp.MustCompile(`\b(AccessDenied|Access Denied|InvalidAccessKeyId|SignatureDoesNotMatch|InvalidToken|ExpiredToken|AuthorizationHeaderMalformed|InvalidClientTokenId|Unauthorized|Forbidden|403 Forbidden|401 Unauthorized|XAdminUserNotFound|AuthenticationFailed)\b[^"\n]*`)
	// unreachable: the endpoint does not answer.
	unreachable = regexp.MustCompile(`(dial tcp [^ ]+: [^"\n]*?(connection refused|no route to host|i/o timeout|network is unreachable))|(lookup [^ ]+( on [^ ]+)?: no such host)|(context deadline exceeded)`)
	noSpace     = regexp.MustCompile(`[^ :"]+: no space left on device`)
	locked      = regexp.MustCompile(`repository is already locked`)
	wrongKey    = regexp.MustCompile(`wrong password or no key found`)
)

// maxCause bounds the part of a restic message a reason quotes.
const maxCause = 200

// isLocked says a run failed on another holder's lock.
func isLocked(run *Run) bool {
	return run.RC == rcLocked || locked.MatchString(run.all())
}

// isCacheFull says a run failed because a volume was full. The data volume's and TMPDIR's
// are told apart by their paths in the message.
func isCacheFull(c Config, run *Run) bool {
	for _, l := range strings.Split(run.all()+"\n"+run.Aborted, "\n") {
		if isCacheFullMsg(c, l) {
			return true
		}
	}
	return false
}

// isCacheFullMsg says a message of restic is about a full cache (not a full data volume).
func isCacheFullMsg(c Config, msg string) bool {
	return noSpace.MatchString(msg) && (strings.Contains(msg, c.CacheDir) || !strings.Contains(msg, c.DataDir+"/"))
}

// permanent is what Restic.Exec stops restic at: its backend retries them for up to 15
// minutes, but only the user can fix an untrusted certificate or refused credentials.
func permanent(msg string) bool {
	return untrusted.MatchString(msg) || (strings.Contains(msg, "returned error, retrying") && denied.MatchString(msg))
}

// unreachableCause names why the repository cannot be used, or "" when the messages say
// nothing the mover recognises.
func unreachableCause(c Config, all string) string {
	switch {
	case untrusted.MatchString(all):
		cause := clip(untrusted.FindString(all))
		if c.CustomCA != "" {
			return fmt.Sprintf("the repository's TLS certificate is not signed by the custom CA %s (%s): check customCA", c.CustomCA, cause)
		}
		return fmt.Sprintf("the repository's TLS certificate is not trusted (%s): set customCA to the CA that signed it", cause)
	case denied.MatchString(all):
		return fmt.Sprintf("the repository refused access (%s): check the credentials in the repository Secret", clip(denied.FindString(all)))
	case unreachable.MatchString(all):
		return fmt.Sprintf("cannot reach the repository (%s)", clip(unreachable.FindString(all)))
	}
	return ""
}

// classify turns a failed run of what into a Failure (locks and a full cache are handled,
// and retried, before).
func classify(c Config, what string, run *Run) *Failure {
	all := run.all()
	switch {
	case run.RC == rcWrongKey || wrongKey.MatchString(all):
		return userAction(restic.ReasonWrongPassword, "%s: wrong password: RESTIC_PASSWORD does not open the repository %s: check the repository Secret", what, c.Repository)
	case run.Aborted != "" || run.RC != rcNoRepository && unreachableCause(c, all) != "":
		cause := unreachableCause(c, all)
		if cause == "" {
			cause = clip(run.Aborted)
		}
		if run.NotOpened > 0 {
			cause += fmt.Sprintf(" (restic still retrying after %s)", run.NotOpened)
		}
		return userAction(restic.ReasonUnreachable, "%s: %s: %s", what, c.Repository, cause)
	}
	return &Failure{Msg: fmt.Sprintf("%s: %s", what, clip(run.lastError())), Code: ExitFailed}
}

func clip(s string) string {
	s = oneLine(s)
	if len(s) > maxCause {
		return s[:maxCause] + "..."
	}
	return s
}
