// Package provisioner creates and deletes PersistentVolumes for the driver's StorageClasses, in place of external-provisioner.
package provisioner
