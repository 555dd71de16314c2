// Package cachedclient gives integration tests the client the controllers use: a cache
// configured like theirs (clients.CacheOptions, clients.IndexFields) behind a clients.Split.
package cachedclient
