package main

import (
	"fmt"
	"regexp"
	"strings"
)

// rclone's exit codes (rclone(1), "Exit code").
const (
	rcloneDirNotFound  = 3
	rcloneFileNotFound = 4
)

var (
	// credentialsRefused: the object store rejected the keys (S3 error codes, the HTTP status
	// when the body had none (HEAD), versitygw's code for an unknown key).
	credentialsRefused = regexp.MustCompile(`\b(InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|InvalidToken|ExpiredToken|TokenRefreshRequired|AuthorizationHeaderMalformed|InvalidClientTokenId|AuthFailure|Unauthorized|Forbidden|XAdminUserNotFound)\b`)
	noSuchBucket       = regexp.MustCompile(`\bNoSuchBucket\b`)
	// untrusted: a TLS certificate the mover does not trust (the x509 part is the telling one).
	untrusted = regexp.MustCompile(`x509: [^"]*`)
	tlsVerify = regexp.MustCompile(`tls: failed to verify certificate[^"]*`)
	// unreachable: the endpoint does not answer.
	unreachable = regexp.MustCompile(`(dial tcp [^ ]+: [^"]*?(connection refused|no route to host|i/o timeout|network is unreachable))|(lookup [^ ]+( on [^ ]+)?: no such host)`)
	// sectionMissing: rclone.conf has no section of that name.
	sectionMissing = regexp.MustCompile(`didn't find section in config file`)
)

// maxCause bounds the part of an rclone message a reason quotes.
const maxCause = 160

// classify names the cause of a failed rclone run in plain words, or returns "" when its
// messages say nothing the mover recognises. It quotes only the recognised part of a message.
func classify(c Config, run Run) string {
	all := strings.Join(run.Errors, "\n")
	switch {
	case sectionMissing.MatchString(all):
		return fmt.Sprintf("section %q not found in %s (rcloneConfigSection must name a section of the rcloneConfig Secret's rclone.conf)", c.Section, c.ConfigFile)
	case noSuchBucket.MatchString(all):
		return noBucketReason(c)
	case untrusted.MatchString(all):
		return untrustedReason(c, untrusted.FindString(all))
	case tlsVerify.MatchString(all):
		return untrustedReason(c, tlsVerify.FindString(all))
	case credentialsRefused.MatchString(all):
		return fmt.Sprintf("the object store refused the credentials of section %q (%s): check the access keys in the rcloneConfig Secret", c.Section, credentialsRefused.FindString(all))
	case unreachable.MatchString(all):
		return fmt.Sprintf("cannot reach the object store of section %q (%s)", c.Section, clip(unreachable.FindString(all)))
	}
	return ""
}

// noBucketReason explains a missing bucket.
func noBucketReason(c Config) string {
	return fmt.Sprintf("bucket %q does not exist at section %q (rcloneDestPath %q): create it, or correct rcloneDestPath", c.Bucket(), c.Section, c.DestPath)
}

// untrustedReason explains a server certificate that failed verification with cause.
func untrustedReason(c Config, cause string) string {
	cause = clip(cause)
	if c.CustomCA != "" {
		return fmt.Sprintf("the object store's TLS certificate (section %q) is not signed by the custom CA %s (%s): check customCA", c.Section, c.CustomCA, cause)
	}
	return fmt.Sprintf("the object store's TLS certificate (section %q) is not trusted (%s): set customCA to the CA that signed it", c.Section, cause)
}

// failure is the reason of a failed rclone run: its classified cause, else its exit code
// (rclone's log, in the mover's output, has the details; it is not copied into the result).
func failure(c Config, what string, run Run) error {
	if cause := classify(c, run); cause != "" {
		return fmt.Errorf("%s: %s", what, cause)
	}
	return fmt.Errorf("%s: rclone exit %d (%s); rclone's messages are in the mover's log", what, run.RC, exitMeaning(run.RC))
}

// exitMeaning is what rclone's exit code means.
func exitMeaning(rc int) string {
	switch rc {
	case 1:
		return "error"
	case 2:
		return "syntax or usage error"
	case rcloneDirNotFound:
		return "directory not found"
	case rcloneFileNotFound:
		return "file not found"
	case 5:
		return "temporary error, retries exhausted"
	case 6:
		return "less serious errors"
	case 7:
		return "fatal error"
	case 8:
		return "transfer limit exceeded"
	case 9:
		return "no files transferred"
	case 10:
		return "duration limit exceeded"
	case -1:
		return "killed"
	}
	return "unknown exit code"
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxCause {
		return s[:maxCause] + "..."
	}
	return s
}
