package testenv

import (
	"context"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/client-go/kubernetes"
	kevents "k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// eventPoll is how often WaitForEvents lists the Events again.
const eventPoll = 100 * time.Millisecond

// EventRecorder returns a recorder that sends events.k8s.io Events to the test API server
// through a real broadcaster, as a controller's manager does, so the API server's validation
// applies. It stops with the test.
func (e *Env) EventRecorder(t testing.TB, component string) kevents.EventRecorder {
	t.Helper()
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatalf("creating a clientset: %v", err)
	}
	b := kevents.NewBroadcaster(&kevents.EventSinkImpl{Interface: cs.EventsV1()})
	stop := make(chan struct{})
	b.StartRecordingToSink(stop)
	t.Cleanup(func() {
		close(stop)
		b.Shutdown()
	})
	return b.NewRecorder(e.Scheme, component)
}

// WaitForEvents polls the Events of namespace until every matcher matches one of them, and
// returns the matching Events in the matchers' order.
func (e *Env) WaitForEvents(ctx context.Context, t testing.TB, namespace string, matchers ...func(*eventsv1.Event) bool) []*eventsv1.Event {
	t.Helper()
	for {
		list := &eventsv1.EventList{}
		if err := e.Client.List(ctx, list, client.InNamespace(namespace)); err != nil {
			t.Fatalf("listing Events: %v", err)
		}
		found := make([]*eventsv1.Event, len(matchers))
		missing := len(matchers)
		for i, match := range matchers {
			for j := range list.Items {
				if match(&list.Items[j]) {
					found[i] = &list.Items[j]
					missing--
					break
				}
			}
		}
		if missing == 0 {
			return found
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d expected Events never arrived; Events in %s: %+v", missing, len(matchers), namespace, list.Items)
		case <-time.After(eventPoll):
		}
	}
}
