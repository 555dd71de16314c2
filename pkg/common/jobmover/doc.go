// Package jobmover is the skeleton of a mover that runs one Job per synchronization (rsync,
// rsync-TLS, rclone, restic). A mover describes what differs (its image, arguments,
// environment, key volumes, Service port) and the skeleton does the rest, the same way for
// every mover:
//
//   - source: point-in-time copy of the source volume -> ServiceAccount -> Job -> done;
//   - destination: destination volume -> optional Service (address published) -> ServiceAccount
//     -> Job -> point-in-time image -> done;
//   - cleanup: the iteration's temporaries (Job, copies), and on destinations the release of
//     the destination PVC's snapshot name;
//   - pod labels, Job names, latestMoverStatus, retries.
//
// A Job-based mover is a Kind (static facts), and per object a Side built with NewSide.
package jobmover
