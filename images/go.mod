module github.com/volsync-go/volsync/images

go 1.26
