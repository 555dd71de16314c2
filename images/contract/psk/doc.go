// Package psk is the pre-shared key format of the rsync-TLS mover, shared by the controller (which checks a user's key Secret) and the mover (which gives the key to stunnel), so both accept exactly the same keys.
package psk
