module volsync-go/hack/images/pause

go 1.26
