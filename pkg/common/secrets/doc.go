// Package secrets holds the two ways a mover gets its key material: a Secret the user names
// (read once per synchronization, checked, its values never shown), or a Secret VolSync
// generates once, owns, and reads from its cache (Owned). Generated values come from
// crypto/rand in the mover's generator; this package only creates, checks and keeps the
// Secrets.
package secrets
