// Command volsync-rsync is the rsync-over-ssh mover's entrypoint: "destination" runs sshd for one source, "source" pushes the volume over ssh (contract: README.md).
package main
