package names

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// ErrFormat is wrapped by every error of Parse.
var ErrFormat = errors.New("name is not in the format [context/]namespace/name")

// XName names an object on one of the clusters of the kubeconfig.
type XName struct {
	// Context is the kubeconfig context of the cluster; empty means the current context.
	Context string
	// Namespace and Name locate the object in that cluster.
	Namespace string
	Name      string
}

// Parse parses "[context/]namespace/name". The namespace and name must be valid Kubernetes
// names (DNS-1123 labels for the namespace, DNS-1123 subdomains for the object), so a typo is
// reported before anything is sent to a cluster.
func Parse(s string) (XName, error) {
	parts := strings.Split(s, "/")
	var x XName
	switch len(parts) {
	case 2:
		x = XName{Namespace: parts[0], Name: parts[1]}
	case 3:
		x = XName{Context: parts[0], Namespace: parts[1], Name: parts[2]}
		if x.Context == "" {
			return XName{}, fmt.Errorf("%w: %q has an empty context (leave out \"context/\" for the current context)", ErrFormat, s)
		}
	default:
		return XName{}, fmt.Errorf("%w: %q", ErrFormat, s)
	}
	if msgs := validation.IsDNS1123Label(x.Namespace); len(msgs) > 0 {
		return XName{}, fmt.Errorf("%w: %q: namespace %q: %s", ErrFormat, s, x.Namespace, strings.Join(msgs, "; "))
	}
	if msgs := validation.IsDNS1123Subdomain(x.Name); len(msgs) > 0 {
		return XName{}, fmt.Errorf("%w: %q: name %q: %s", ErrFormat, s, x.Name, strings.Join(msgs, "; "))
	}
	return x, nil
}

// String returns the name in the format Parse reads.
func (x XName) String() string {
	if x.Context == "" {
		return x.Namespace + "/" + x.Name
	}
	return x.Context + "/" + x.Namespace + "/" + x.Name
}
