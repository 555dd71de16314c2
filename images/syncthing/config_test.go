package main

import (
	"slices"
	"testing"
)

func TestSyncthingEnv(t *testing.T) {
	for _, c := range []struct {
		in, want []string
	}{
		{[]string{"PATH=/bin", "STGUIAPIKEY=k"}, []string{"PATH=/bin", "STGUIAPIKEY=k", "STNORESTART=1", "STNOUPGRADE=1", "STHASHING=standard", "STMONITORED=yes", "HOME=/tmp"}},
		{[]string{"HOME=/home/x", "STNORESTART=", "STHASHING=minio", "STMONITORED=no"}, []string{"HOME=/home/x", "STNORESTART=1", "STNOUPGRADE=1", "STHASHING=standard", "STMONITORED=yes"}},
		{[]string{"HOME="}, []string{"STNORESTART=1", "STNOUPGRADE=1", "STHASHING=standard", "STMONITORED=yes", "HOME=/tmp"}},
	} {
		if got := syncthingEnv(c.in); !slices.Equal(got, c.want) {
			t.Errorf("syncthingEnv(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestArgs(t *testing.T) {
	c := Config{ConfigDir: "/mover-syncthing/config", APIAddress: "0.0.0.0:8384"}
	want := []string{"syncthing", "serve", "--home=/mover-syncthing/config", "--no-browser", "--no-restart", "--no-upgrade",
		"--no-default-folder", "--skip-port-probing", "--gui-address=https://0.0.0.0:8384"}
	if got := c.Args(); !slices.Equal(got, want) {
		t.Errorf("Args() = %q", got)
	}
	c.Debug = true
	if got := c.Args(); got[len(got)-1] != "--verbose" {
		t.Errorf("Args() with DEBUG_MOVER = %q", got)
	}
}
