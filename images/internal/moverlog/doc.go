// Package moverlog is a mover's log and its secret masking: timestamped progress lines and
// summary lines on stdout, with every secret value the mover knows replaced by "***".
package moverlog
