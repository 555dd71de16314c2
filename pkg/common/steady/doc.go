// Package steady runs a steady mover: one that keeps its data in sync for as long as its object
// exists (syncthing), as a Deployment of one replica instead of a Job per synchronization. The
// pod is the same as a Job mover's (jobs.PodTemplate: security contexts, volumes, the user's
// pod options); the Deployment restarts it, Recreate-style so that two pods never hold the
// volume, and scales it to zero while the object is paused. Runner.Ensure reports whether the
// pod is ready and, when it stays unready, why (an image that cannot be pulled, a crash loop
// with the mover's last error).
package steady
