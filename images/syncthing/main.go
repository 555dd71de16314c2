package main

import (
	"os"
	"syscall"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Getenv, os.Environ(), os.Stdout, os.Stderr, syscall.Exec))
}
