// Command volsync-restic is the restic mover's entrypoint: it backs a volume up to a restic
// repository, applies the retention policy, prunes, unlocks, or restores a snapshot into a
// volume, running the real restic binary and reporting a result (images/contract/result) the
// controller reads. See README.md and images/contract/restic.
package main
