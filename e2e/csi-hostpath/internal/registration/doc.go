// Package registration serves the kubelet plugin-registration (pluginregistration/v1) socket for a CSI driver.
package registration
