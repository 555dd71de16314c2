package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// RelationshipLabel on every object the CLI creates holds the relationship's id (the
// reference's label, so the reference's "delete" finds our objects and ours find its).
const RelationshipLabel = "volsync.backube/relationship"

// ClientFor returns a client for a kubeconfig context ("" is the current context).
type ClientFor func(kubeContext string) (client.Client, error)

// Scheme knows the core types and the VolSync types.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Kubeconfig returns clients from the kubeconfig (--kubeconfig, $KUBECONFIG or ~/.kube/config).
func Kubeconfig(kubeContext string) (client.Client, error) {
	cfg, err := config.GetConfigWithContext(kubeContext)
	if err != nil {
		if kubeContext == "" {
			return nil, fmt.Errorf("loading the kubeconfig: %w", err)
		}
		return nil, fmt.Errorf("loading the kubeconfig for context %q: %w", kubeContext, err)
	}
	s, err := Scheme()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: s})
}

// Labels returns the relationship label for id.
func Labels(id string) map[string]string { return map[string]string{RelationshipLabel: id} }

// Poller polls with a deadline, printing a progress line when what it waits for changes.
type Poller struct {
	// Interval between polls.
	Interval time.Duration
	// Progress receives "waiting: ..." lines (nil: none).
	Progress io.Writer
}

// ErrTimeout is wrapped when a wait's deadline passes.
var ErrTimeout = errors.New("timed out")

// Permanent marks an error that ends a wait at once.
type Permanent struct{ Err error }

func (p Permanent) Error() string { return p.Err.Error() }
func (p Permanent) Unwrap() error { return p.Err }

// Wait calls check until it reports done, it returns a Permanent error, ctx ends or timeout
// passes. check's status (what it is waiting for) is printed whenever it changes; a
// non-permanent error counts as "not yet" and is printed the same way, so a transient API
// error does not end the wait. The timeout error names what and the last status.
func (p Poller) Wait(ctx context.Context, timeout time.Duration, what string, check func(context.Context) (done bool, status string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	tick := time.NewTicker(p.Interval)
	defer tick.Stop()
	for {
		done, status, err := check(ctx)
		var perm Permanent
		switch {
		case errors.As(err, &perm):
			return perm.Err
		case err != nil && ctx.Err() != nil:
			// The deadline cut this check short: the previous status says more.
			status = last
		case err != nil:
			status = err.Error()
		case done:
			return nil
		}
		if status != last && status != "" && p.Progress != nil {
			_, _ = fmt.Fprintf(p.Progress, "waiting for %s: %s\n", what, status)
		}
		last = status
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%w after %s waiting for %s (last: %s)", ErrTimeout, timeout, what, orNothing(last))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func orNothing(s string) string {
	if s == "" {
		return "no status yet"
	}
	return s
}

// Undo deletes, in reverse order, the objects a command created, when the command fails.
type Undo struct {
	items []undoItem
}

type undoItem struct {
	c   client.Client
	obj client.Object
}

// Created records an object this command created.
func (u *Undo) Created(c client.Client, obj client.Object) {
	u.items = append(u.items, undoItem{c, obj})
}

// Run deletes what was recorded (background propagation) and returns the errors of the
// deletions; objects already gone are fine. It uses its own context: the command's may have
// ended (a timeout) and the cleanup must still happen.
func (u *Undo) Run(out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), undoTimeout)
	defer cancel()
	var errs []error
	for i := len(u.items) - 1; i >= 0; i-- {
		it := u.items[i]
		kind := fmt.Sprintf("%T", it.obj)
		if gvk, err := apiutilKind(it.c, it.obj); err == nil {
			kind = gvk
		}
		if out != nil {
			_, _ = fmt.Fprintf(out, "removing %s %s created by this command\n", kind, name(it.obj))
		}
		err := it.c.Delete(ctx, it.obj, client.PropagationPolicy("Background"))
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing %s %s: %w", kind, name(it.obj), err))
		}
	}
	u.items = nil
	return errors.Join(errs...)
}

// OnFailure, deferred by a command with the named result *err, runs the undo when the command
// failed and adds the undo's errors to *err.
func (u *Undo) OnFailure(err *error, out io.Writer) {
	if *err == nil {
		return
	}
	if uerr := u.Run(out); uerr != nil {
		*err = errors.Join(*err, uerr)
	}
}

// undoTimeout bounds the cleanup of a failed command.
const undoTimeout = time.Minute

func name(obj client.Object) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

func apiutilKind(c client.Client, obj client.Object) (string, error) {
	gvk, err := c.GroupVersionKindFor(obj)
	if err != nil {
		return "", err
	}
	return gvk.Kind, nil
}
