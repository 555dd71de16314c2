package envtestassets

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Dir returns KUBEBUILDER_ASSETS or builds the binaries with the repository's
// hack/k8s-bins.sh (slow the first time, cached afterwards) and returns their directory.
func Dir() (string, error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		script := filepath.Join(dir, "hack", "k8s-bins.sh")
		if _, err := os.Stat(script); err == nil {
			out, err := exec.Command("bash", script).Output()
			if err != nil {
				return "", fmt.Errorf("%s: %w", script, err)
			}
			return strings.TrimSpace(string(out)), nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("KUBEBUILDER_ASSETS is not set and hack/k8s-bins.sh was not found above %s", wd)
		}
	}
}
