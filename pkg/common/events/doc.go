// Package events holds the event reasons and actions users see on VolSync objects, and a
// recorder helper that names objects as Kind/Name.
package events
