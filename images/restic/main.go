package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], os.Getenv, os.Environ(), os.Stdout, os.Stderr))
}
