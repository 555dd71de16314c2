// Package customca mounts the CA bundle a mover trusts (spec.<mover>.customCA: a key of a
// Secret or a ConfigMap) into the mover pod, after checking the key is there.
package customca
