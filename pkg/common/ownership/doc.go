// Package ownership edits who owns an object VolSync made: handing it over to the user, or
// dropping one owner's reference. It sits below pit and cleanup, which both use it.
package ownership
