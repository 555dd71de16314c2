// Package options turns the CLI's flag values (copy methods, access modes, service types,
// capacities, cron specs) into API values, rejecting what the API or the mover would refuse
// later, with the accepted values in the message.
package options
