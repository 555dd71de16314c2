// Package service maintains the Service a destination mover listens behind and reports its address.
package service
