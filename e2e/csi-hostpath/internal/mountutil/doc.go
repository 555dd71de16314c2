// Package mountutil bind-mounts and unmounts directories and detects mount points from /proc/self/mountinfo.
package mountutil
