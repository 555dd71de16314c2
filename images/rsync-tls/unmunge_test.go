package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/internal/rsync"
)

func TestUnmungeSymlinks(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "sub")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(sub, 0o755))
	links := map[string]string{
		filepath.Join(root, "abs"): "/etc/hostname",
		filepath.Join(sub, "rel"):  "../x/../y",
		filepath.Join(sub, "keep"): "plain",
	}
	linkTime := time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	dirTime := time.Date(2019, 1, 2, 3, 4, 5, 7, time.UTC)
	for link, target := range links {
		if filepath.Base(link) != "keep" {
			target = mungePrefix + target
		}
		must(os.Symlink(target, link))
		must(lutimes(link, linkTime, linkTime))
	}
	must(os.Chtimes(sub, dirTime, dirTime))

	must(unmungeSymlinks(root, os.Geteuid() == 0, rsync.NewLogger(io.Discard)))

	for link, want := range links {
		got, err := os.Readlink(link)
		must(err)
		if got != want {
			t.Errorf("%s -> %q, want %q", link, got, want)
		}
		fi, err := os.Lstat(link)
		must(err)
		if !fi.ModTime().Equal(linkTime) {
			t.Errorf("%s: mtime %v, want %v", link, fi.ModTime(), linkTime)
		}
	}
	fi, err := os.Stat(sub)
	must(err)
	if !fi.ModTime().Equal(dirTime) {
		t.Errorf("directory mtime %v, want %v", fi.ModTime(), dirTime)
	}
	entries, err := os.ReadDir(sub)
	must(err)
	if len(entries) != 2 {
		t.Errorf("temporary links left: %v", entries)
	}
}
