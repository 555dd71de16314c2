// Package relationship reads and writes the relationship files in the config directory
// (<config-dir>/<name>.yaml) in the reference CLI's layout, so files written by either CLI keep
// working with the other: top-level type, id and data, keys lower-cased, capacities as strings.
package relationship
