// Package mover is the part of the controller <-> mover contract that every mover image shares:
// the fixed mount paths and the environment variables the controller sets on a mover
// container. It has no dependencies, so both the controllers (pkg/, cmd/) and the mover images
// (images/) import it; a name exists once, here. Mover-specific names live in a sibling
// package named after the mover (images/contract/rsync, images/contract/psk for rsync-tls).
package mover
