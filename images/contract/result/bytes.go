package result

import "fmt"

// FormatBytes shows n bytes in binary units with the given decimals ("1.5 KiB", "512 B"): the
// controller's latestMoverStatus summary and the movers' logs say sizes the same way.
func FormatBytes(n int64, decimals int) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.*f %ciB", decimals, float64(n)/float64(div), "KMGTPE"[exp])
}
