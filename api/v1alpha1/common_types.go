package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SchedulePattern is the pattern every trigger.schedule must match: a five-field cron
// expression (with ranges, lists, steps and month/day names) or one of the @-descriptors.
// It is anchored at both ends, unlike the reference implementation's pattern, and steps have
// at most three digits (robfig/cron fails on a step that overflows an int). The same string is
// on the schedule fields' Pattern markers; a test keeps them equal. What a regular expression
// cannot check (a range's ends in order, a day of month that exists in the months given) is
// checked by the fields' CEL rules (printed by schedule_rules.py), so the CRD admits exactly
// what pkg/trigger can evaluate.
const SchedulePattern = `^ *(?:@(?:annually|yearly|monthly|weekly|daily|hourly)|(?:\*|[0-5]?[0-9](?:-[0-5]?[0-9])?)(?:/[1-9][0-9]{0,2})?(?:,(?:\*|[0-5]?[0-9](?:-[0-5]?[0-9])?)(?:/[1-9][0-9]{0,2})?)*[ \t]+(?:\*|(?:[01]?[0-9]|2[0-3])(?:-(?:[01]?[0-9]|2[0-3]))?)(?:/[1-9][0-9]{0,2})?(?:,(?:\*|(?:[01]?[0-9]|2[0-3])(?:-(?:[01]?[0-9]|2[0-3]))?)(?:/[1-9][0-9]{0,2})?)*[ \t]+(?:[*?]|(?:0?[1-9]|[12][0-9]|3[01])(?:-(?:0?[1-9]|[12][0-9]|3[01]))?)(?:/[1-9][0-9]{0,2})?(?:,(?:[*?]|(?:0?[1-9]|[12][0-9]|3[01])(?:-(?:0?[1-9]|[12][0-9]|3[01]))?)(?:/[1-9][0-9]{0,2})?)*[ \t]+(?:\*|(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(?:-(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(?:/[1-9][0-9]{0,2})?(?:,(?:\*|(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(?:-(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(?:/[1-9][0-9]{0,2})?)*[ \t]+(?:[*?]|(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(?:-(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(?:/[1-9][0-9]{0,2})?(?:,(?:[*?]|(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(?:-(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(?:/[1-9][0-9]{0,2})?)*) *$`

// ScheduleMaxLength is the longest trigger.schedule the CRD admits (the schedule fields'
// MaxLength marker; a test keeps them equal).
const ScheduleMaxLength = 1200

// CopyMethodType says how a point-in-time image of a volume is made.
// +kubebuilder:validation:Enum=Direct;None;Clone;Snapshot
type CopyMethodType string

const (
	// CopyMethodDirect uses the volume itself, without a copy.
	CopyMethodDirect CopyMethodType = "Direct"
	// CopyMethodNone is the deprecated name of CopyMethodDirect.
	CopyMethodNone CopyMethodType = "None"
	// CopyMethodClone copies the volume with a CSI clone.
	CopyMethodClone CopyMethodType = "Clone"
	// CopyMethodSnapshot copies the volume through a VolumeSnapshot.
	CopyMethodSnapshot CopyMethodType = "Snapshot"
)

// TriggerSpec says when a synchronization starts. With neither field set, synchronizations
// run back to back.
type TriggerSpec struct {
	// schedule is a cron expression (five fields, or @hourly, @daily, @weekly, @monthly,
	// @yearly, @annually) giving the start times of synchronizations. Ranges must ascend and
	// the schedule must fire (no 30 February).
	// +optional
	// +kubebuilder:validation:MaxLength=1200
	// +kubebuilder:validation:Pattern=`^ *(?:@(?:annually|yearly|monthly|weekly|daily|hourly)|(?:\*|[0-5]?[0-9](?:-[0-5]?[0-9])?)(?:/[1-9][0-9]{0,2})?(?:,(?:\*|[0-5]?[0-9](?:-[0-5]?[0-9])?)(?:/[1-9][0-9]{0,2})?)*[ \t]+(?:\*|(?:[01]?[0-9]|2[0-3])(?:-(?:[01]?[0-9]|2[0-3]))?)(?:/[1-9][0-9]{0,2})?(?:,(?:\*|(?:[01]?[0-9]|2[0-3])(?:-(?:[01]?[0-9]|2[0-3]))?)(?:/[1-9][0-9]{0,2})?)*[ \t]+(?:[*?]|(?:0?[1-9]|[12][0-9]|3[01])(?:-(?:0?[1-9]|[12][0-9]|3[01]))?)(?:/[1-9][0-9]{0,2})?(?:,(?:[*?]|(?:0?[1-9]|[12][0-9]|3[01])(?:-(?:0?[1-9]|[12][0-9]|3[01]))?)(?:/[1-9][0-9]{0,2})?)*[ \t]+(?:\*|(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(?:-(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(?:/[1-9][0-9]{0,2})?(?:,(?:\*|(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(?:-(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(?:/[1-9][0-9]{0,2})?)*[ \t]+(?:[*?]|(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(?:-(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(?:/[1-9][0-9]{0,2})?(?:,(?:[*?]|(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(?:-(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(?:/[1-9][0-9]{0,2})?)*) *$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('(?:^|[^0-9A-Za-z])(?:[1-9][0-9]-0?[0-9]|[2-9][0-9]-1[0-9]|[3-9][0-9]-2[0-9]|[4-9][0-9]-3[0-9]|[5-9][0-9]-4[0-9]|[6-9][0-9]-5[0-9]|[7-9][0-9]-6[0-9]|[8-9][0-9]-7[0-9]|9[0-9]-8[0-9]|1[1-9]-10|1[2-9]-11|1[3-9]-12|1[4-9]-13|1[5-9]-14|1[6-9]-15|1[7-9]-16|1[8-9]-17|19-18|2[1-9]-20|2[2-9]-21|2[3-9]-22|2[4-9]-23|2[5-9]-24|2[6-9]-25|2[7-9]-26|2[8-9]-27|29-28|3[1-9]-30|3[2-9]-31|3[3-9]-32|3[4-9]-33|3[5-9]-34|3[6-9]-35|3[7-9]-36|3[8-9]-37|39-38|4[1-9]-40|4[2-9]-41|4[3-9]-42|4[4-9]-43|4[5-9]-44|4[6-9]-45|4[7-9]-46|4[8-9]-47|49-48|5[1-9]-50|5[2-9]-51|5[3-9]-52|5[4-9]-53|5[5-9]-54|5[6-9]-55|5[7-9]-56|5[8-9]-57|59-58|6[1-9]-60|6[2-9]-61|6[3-9]-62|6[4-9]-63|6[5-9]-64|6[6-9]-65|6[7-9]-66|6[8-9]-67|69-68|7[1-9]-70|7[2-9]-71|7[3-9]-72|7[4-9]-73|7[5-9]-74|7[6-9]-75|7[7-9]-76|7[8-9]-77|79-78|8[1-9]-80|8[2-9]-81|8[3-9]-82|8[4-9]-83|8[5-9]-84|8[6-9]-85|8[7-9]-86|8[8-9]-87|89-88|9[1-9]-90|9[2-9]-91|9[3-9]-92|9[4-9]-93|9[5-9]-94|9[6-9]-95|9[7-9]-96|9[8-9]-97|99-98|0?[1-9]-0?0|0?[2-9]-0?1|0?[3-9]-0?2|0?[4-9]-0?3|0?[5-9]-0?4|0?[6-9]-0?5|0?[7-9]-0?6|0?[8-9]-0?7|0?9-0?8|(?i:(?:0?2|feb)-(?:0?1|jan))|(?i:(?:0?3|mar)-(?:0?1|0?2|jan|feb))|(?i:(?:0?4|apr)-(?:0?1|0?2|0?3|jan|feb|mar))|(?i:(?:0?5|may)-(?:0?1|0?2|0?3|0?4|jan|feb|mar|apr))|(?i:(?:0?6|jun)-(?:0?1|0?2|0?3|0?4|0?5|jan|feb|mar|apr|may))|(?i:(?:0?7|jul)-(?:0?1|0?2|0?3|0?4|0?5|0?6|jan|feb|mar|apr|may|jun))|(?i:(?:0?8|aug)-(?:0?1|0?2|0?3|0?4|0?5|0?6|0?7|jan|feb|mar|apr|may|jun|jul))|(?i:(?:0?9|sep)-(?:0?1|0?2|0?3|0?4|0?5|0?6|0?7|0?8|jan|feb|mar|apr|may|jun|jul|aug))|(?i:(?:10|oct)-(?:0?1|0?2|0?3|0?4|0?5|0?6|0?7|0?8|0?9|jan|feb|mar|apr|may|jun|jul|aug|sep))|(?i:(?:11|nov)-(?:0?1|0?2|0?3|0?4|0?5|0?6|0?7|0?8|0?9|10|jan|feb|mar|apr|may|jun|jul|aug|sep|oct))|(?i:(?:12|dec)-(?:0?1|0?2|0?3|0?4|0?5|0?6|0?7|0?8|0?9|10|11|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov))|(?i:(?:0?1|mon)-(?:0?0|sun))|(?i:(?:0?2|tue)-(?:0?0|0?1|sun|mon))|(?i:(?:0?3|wed)-(?:0?0|0?1|0?2|sun|mon|tue))|(?i:(?:0?4|thu)-(?:0?0|0?1|0?2|0?3|sun|mon|tue|wed))|(?i:(?:0?5|fri)-(?:0?0|0?1|0?2|0?3|0?4|sun|mon|tue|wed|thu))|(?i:(?:0?6|sat)-(?:0?0|0?1|0?2|0?3|0?4|0?5|sun|mon|tue|wed|thu|fri)))(?:[^0-9A-Za-z]|$)')",message="schedule has a range whose start is after its end (such as 30-10 or fri-mon): write it as two ranges, for example 30-59,0-10"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^ *[^[:blank:]]+[[:blank:]]+[^[:blank:]]+[[:blank:]]+3[01][^[:blank:],]*(?:,3[01][^[:blank:],]*)*[[:blank:]]+(?:(?i:(?:0?2|feb))|(?i:(?:0?2|feb))-(?i:(?:0?2|feb))|(?i:(?:0?2|feb))-(?i:(?:0?2|feb))/[1-9][0-9]*|(?i:(?:0?2|feb))-(?i:(?:0?3|mar))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?4|apr))/(?:(?:[3-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?5|may))/(?:(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?6|jun))/(?:(?:[5-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?7|jul))/(?:(?:[6-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?8|aug))/(?:(?:[7-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?9|sep))/(?:(?:[8-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:10|oct))/(?:(?:9|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:11|nov))/(?:(?:[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:12|dec))/(?:(?:1[1-9]|[2-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))/(?:(?:1[1-9]|[2-9][0-9]|[1-9][0-9]{2,})))(?:,(?:(?i:(?:0?2|feb))|(?i:(?:0?2|feb))-(?i:(?:0?2|feb))|(?i:(?:0?2|feb))-(?i:(?:0?2|feb))/[1-9][0-9]*|(?i:(?:0?2|feb))-(?i:(?:0?3|mar))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?4|apr))/(?:(?:[3-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?5|may))/(?:(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?6|jun))/(?:(?:[5-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?7|jul))/(?:(?:[6-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?8|aug))/(?:(?:[7-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?9|sep))/(?:(?:[8-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:10|oct))/(?:(?:9|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:11|nov))/(?:(?:[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:12|dec))/(?:(?:1[1-9]|[2-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))/(?:(?:1[1-9]|[2-9][0-9]|[1-9][0-9]{2,}))))*[[:blank:]]+(?:[^[:blank:]]*,)?[*?](?:/1)?(?:,[^[:blank:]]*)? *$') && !self.matches('^ *[^[:blank:]]+[[:blank:]]+[^[:blank:]]+[[:blank:]]+31[^[:blank:],]*(?:,31[^[:blank:],]*)*[[:blank:]]+(?:(?i:(?:0?2|feb))|(?i:(?:0?2|feb))-(?i:(?:0?2|feb))|(?i:(?:0?2|feb))-(?i:(?:0?2|feb))/[1-9][0-9]*|(?i:(?:0?2|feb))-(?i:(?:0?3|mar))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?4|apr))/(?:2|(?:[3-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?5|may))/(?:2|(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?6|jun))/(?:2|4|(?:[5-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?7|jul))/(?:2|4|(?:[6-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?8|aug))/(?:4|(?:[7-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?9|sep))/(?:4|7|(?:[8-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:10|oct))/(?:7|(?:9|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:11|nov))/(?:7|9|(?:[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:12|dec))/(?:7|9|(?:1[1-9]|[2-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))/(?:7|9|(?:1[1-9]|[2-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))|(?i:(?:0?4|apr))-(?i:(?:0?4|apr))|(?i:(?:0?4|apr))-(?i:(?:0?4|apr))/[1-9][0-9]*|(?i:(?:0?4|apr))-(?i:(?:0?5|may))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:0?6|jun))/(?:2|(?:[3-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:0?7|jul))/(?:2|(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:0?8|aug))/(?:(?:[5-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:0?9|sep))/(?:5|(?:[6-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:10|oct))/(?:5|(?:[7-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:11|nov))/(?:5|7|(?:[8-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:12|dec))/(?:5|7|(?:9|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))/(?:5|7|(?:9|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))|(?i:(?:0?6|jun))-(?i:(?:0?6|jun))|(?i:(?:0?6|jun))-(?i:(?:0?6|jun))/[1-9][0-9]*|(?i:(?:0?6|jun))-(?i:(?:0?7|jul))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))-(?i:(?:0?8|aug))/(?:(?:[3-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))-(?i:(?:0?9|sep))/(?:3|(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))-(?i:(?:10|oct))/(?:3|(?:[5-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))-(?i:(?:11|nov))/(?:3|5|(?:[6-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))-(?i:(?:12|dec))/(?:5|(?:[7-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))/(?:5|(?:[7-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?9|sep))|(?i:(?:0?9|sep))-(?i:(?:0?9|sep))|(?i:(?:0?9|sep))-(?i:(?:0?9|sep))/[1-9][0-9]*|(?i:(?:0?9|sep))-(?i:(?:10|oct))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?9|sep))-(?i:(?:11|nov))/(?:2|(?:[3-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?9|sep))-(?i:(?:12|dec))/(?:2|(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?9|sep))/(?:2|(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:11|nov))|(?i:(?:11|nov))-(?i:(?:11|nov))|(?i:(?:11|nov))-(?i:(?:11|nov))/[1-9][0-9]*|(?i:(?:11|nov))-(?i:(?:12|dec))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:11|nov))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,})))(?:,(?:(?i:(?:0?2|feb))|(?i:(?:0?2|feb))-(?i:(?:0?2|feb))|(?i:(?:0?2|feb))-(?i:(?:0?2|feb))/[1-9][0-9]*|(?i:(?:0?2|feb))-(?i:(?:0?3|mar))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?4|apr))/(?:2|(?:[3-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?5|may))/(?:2|(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?6|jun))/(?:2|4|(?:[5-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?7|jul))/(?:2|4|(?:[6-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?8|aug))/(?:4|(?:[7-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:0?9|sep))/(?:4|7|(?:[8-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:10|oct))/(?:7|(?:9|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:11|nov))/(?:7|9|(?:[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))-(?i:(?:12|dec))/(?:7|9|(?:1[1-9]|[2-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?2|feb))/(?:7|9|(?:1[1-9]|[2-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))|(?i:(?:0?4|apr))-(?i:(?:0?4|apr))|(?i:(?:0?4|apr))-(?i:(?:0?4|apr))/[1-9][0-9]*|(?i:(?:0?4|apr))-(?i:(?:0?5|may))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:0?6|jun))/(?:2|(?:[3-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:0?7|jul))/(?:2|(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:0?8|aug))/(?:(?:[5-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:0?9|sep))/(?:5|(?:[6-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:10|oct))/(?:5|(?:[7-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:11|nov))/(?:5|7|(?:[8-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))-(?i:(?:12|dec))/(?:5|7|(?:9|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?4|apr))/(?:5|7|(?:9|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))|(?i:(?:0?6|jun))-(?i:(?:0?6|jun))|(?i:(?:0?6|jun))-(?i:(?:0?6|jun))/[1-9][0-9]*|(?i:(?:0?6|jun))-(?i:(?:0?7|jul))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))-(?i:(?:0?8|aug))/(?:(?:[3-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))-(?i:(?:0?9|sep))/(?:3|(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))-(?i:(?:10|oct))/(?:3|(?:[5-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))-(?i:(?:11|nov))/(?:3|5|(?:[6-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))-(?i:(?:12|dec))/(?:5|(?:[7-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?6|jun))/(?:5|(?:[7-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?9|sep))|(?i:(?:0?9|sep))-(?i:(?:0?9|sep))|(?i:(?:0?9|sep))-(?i:(?:0?9|sep))/[1-9][0-9]*|(?i:(?:0?9|sep))-(?i:(?:10|oct))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?9|sep))-(?i:(?:11|nov))/(?:2|(?:[3-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?9|sep))-(?i:(?:12|dec))/(?:2|(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:0?9|sep))/(?:2|(?:[4-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:11|nov))|(?i:(?:11|nov))-(?i:(?:11|nov))|(?i:(?:11|nov))-(?i:(?:11|nov))/[1-9][0-9]*|(?i:(?:11|nov))-(?i:(?:12|dec))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))|(?i:(?:11|nov))/(?:(?:[2-9]|[1-9][0-9]|[1-9][0-9]{2,}))))*[[:blank:]]+(?:[^[:blank:]]*,)?[*?](?:/1)?(?:,[^[:blank:]]*)? *$')",message="schedule never fires: no month in the month field has the day of month given (such as 30 February or 31 April); change the day-of-month or month field"
	Schedule *string `json:"schedule,omitempty"`
	// manual starts one synchronization each time its value changes; once it is done the
	// value is copied to status.lastManualSync. It takes precedence over schedule.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Manual string `json:"manual,omitempty"`
}

// ReplicationSourceTriggerSpec says when a ReplicationSource synchronizes.
type ReplicationSourceTriggerSpec = TriggerSpec

// ReplicationDestinationTriggerSpec says when a ReplicationDestination synchronizes.
type ReplicationDestinationTriggerSpec = TriggerSpec

// ReplicationSourceVolumeOptions say how the source's point-in-time copy is made.
type ReplicationSourceVolumeOptions struct {
	// copyMethod is how the point-in-time copy of the source volume is made: Clone,
	// Snapshot, or Direct (None is the deprecated name of Direct) to use the volume itself.
	// +optional
	CopyMethod CopyMethodType `json:"copyMethod,omitempty"`
	// capacity overrides the size of the point-in-time copy (default: the source's).
	// +optional
	Capacity *resource.Quantity `json:"capacity,omitempty"`
	// storageClassName overrides the StorageClass of the point-in-time copy.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	StorageClassName *string `json:"storageClassName,omitempty"`
	// accessModes overrides the access modes of the point-in-time copy.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	AccessModes []corev1.PersistentVolumeAccessMode `json:"accessModes,omitempty"`
	// volumeSnapshotClassName is the VolumeSnapshotClass used with copyMethod Snapshot
	// (default: the cluster's default class).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	VolumeSnapshotClassName *string `json:"volumeSnapshotClassName,omitempty"`
}

// ReplicationDestinationVolumeOptions say where incoming data is written and how the
// destination's point-in-time image is made.
// +kubebuilder:validation:XValidation:rule="!has(self.copyMethod) || self.copyMethod != 'Clone'",message="copyMethod Clone is not supported on a ReplicationDestination: use Snapshot, or Direct to keep the data in the PVC",fieldPath=".copyMethod"
// +kubebuilder:validation:XValidation:rule="(has(self.destinationPVC) && size(self.destinationPVC) > 0) || has(self.capacity)",message="capacity is required unless destinationPVC is set",fieldPath=".capacity"
// +kubebuilder:validation:XValidation:rule="(has(self.destinationPVC) && size(self.destinationPVC) > 0) || has(self.accessModes)",message="accessModes is required unless destinationPVC is set",fieldPath=".accessModes"
type ReplicationDestinationVolumeOptions struct {
	// copyMethod is how the image in status.latestImage is made after each synchronization:
	// Snapshot takes a VolumeSnapshot of the destination PVC; Direct (the default; None is its
	// deprecated name) points at the PVC itself. Clone is rejected.
	// +optional
	// +kubebuilder:default=Direct
	CopyMethod CopyMethodType `json:"copyMethod,omitempty"`
	// capacity is the size of the destination PVC provisioned when destinationPVC is not set.
	// +optional
	Capacity *resource.Quantity `json:"capacity,omitempty"`
	// storageClassName is the StorageClass of the provisioned destination PVC.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	StorageClassName *string `json:"storageClassName,omitempty"`
	// accessModes are the access modes of the provisioned destination PVC.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	AccessModes []corev1.PersistentVolumeAccessMode `json:"accessModes,omitempty"`
	// volumeSnapshotClassName is the VolumeSnapshotClass used with copyMethod Snapshot.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	VolumeSnapshotClassName *string `json:"volumeSnapshotClassName,omitempty"`
	// destinationPVC names an existing PVC to write into instead of provisioning one.
	// It is never deleted by VolSync.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	DestinationPVC *string `json:"destinationPVC,omitempty"`
	// cleanupTempPVC deletes the provisioned destination PVC after each successful
	// synchronization. It has no effect with destinationPVC.
	// +optional
	CleanupTempPVC bool `json:"cleanupTempPVC,omitempty"`
}

// MoverConfig holds the options of the mover pod shared by most movers.
type MoverConfig struct {
	// moverSecurityContext is the pod security context of the mover pod.
	// +optional
	MoverSecurityContext *corev1.PodSecurityContext `json:"moverSecurityContext,omitempty"`
	// moverServiceAccount names an existing ServiceAccount for the mover pod instead of the
	// one VolSync creates.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	MoverServiceAccount *string `json:"moverServiceAccount,omitempty"`
	// moverPodLabels are added to the labels of the mover pod.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	MoverPodLabels map[string]string `json:"moverPodLabels,omitempty"`
	// moverResources are the resource requests and limits of the mover's containers.
	// +optional
	MoverResources *corev1.ResourceRequirements `json:"moverResources,omitempty"`
	// moverAffinity is the affinity of the mover pod.
	// +optional
	MoverAffinity *corev1.Affinity `json:"moverAffinity,omitempty"`
	// moverVolumes are extra volumes mounted in the mover pod under /mnt/<mountPath>.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=mountPath
	MoverVolumes []MoverVolume `json:"moverVolumes,omitempty"`
}

// MoverVolume is an extra volume for the mover pod.
type MoverVolume struct {
	// mountPath is where the volume is mounted, relative to /mnt: directory names of letters,
	// digits, '.', '_' and '-' separated by single slashes. Each mountPath appears once.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$')",message="mountPath must be a relative directory path: names of letters, digits, '.', '_' and '-' separated by single slashes, for example certs or share/nfs"
	// +kubebuilder:validation:XValidation:rule="!self.split('/').exists(p, p == '..' || p == '.')",message="mountPath must not contain . or .. path elements"
	MountPath string `json:"mountPath"`
	// volumeSource is the volume to mount.
	// +required
	VolumeSource MoverVolumeSource `json:"volumeSource"`
}

// MoverVolumeSource is the source of an extra mover volume: exactly one of its fields.
// +kubebuilder:validation:XValidation:rule="(has(self.secret) ? 1 : 0) + (has(self.nfs) ? 1 : 0) + (has(self.persistentVolumeClaim) ? 1 : 0) == 1",message="exactly one of secret, nfs or persistentVolumeClaim must be set"
type MoverVolumeSource struct {
	// secret mounts a Secret.
	// +optional
	Secret *corev1.SecretVolumeSource `json:"secret,omitempty"`
	// nfs mounts an NFS export.
	// +optional
	NFS *corev1.NFSVolumeSource `json:"nfs,omitempty"`
	// persistentVolumeClaim mounts a PVC.
	// +optional
	PersistentVolumeClaim *corev1.PersistentVolumeClaimVolumeSource `json:"persistentVolumeClaim,omitempty"`
}

// CustomCASpec names a certificate authority bundle that the mover trusts, taken from a
// key of a Secret or a ConfigMap in the object's namespace.
// +kubebuilder:validation:XValidation:rule="!(has(self.secretName) && size(self.secretName) > 0 && has(self.configMapName) && size(self.configMapName) > 0)",message="set at most one of secretName and configMapName"
// +kubebuilder:validation:XValidation:rule="!((has(self.secretName) && size(self.secretName) > 0) || (has(self.configMapName) && size(self.configMapName) > 0)) || (has(self.key) && size(self.key) > 0)",message="key is required when secretName or configMapName is set",fieldPath=".key"
type CustomCASpec struct {
	// secretName is a Secret holding the CA bundle.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName,omitempty"`
	// configMapName is a ConfigMap holding the CA bundle.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ConfigMapName string `json:"configMapName,omitempty"`
	// key is the key of the Secret or ConfigMap that holds the CA bundle.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// MoverResult is the outcome of a mover run.
// +kubebuilder:validation:Enum=Successful;Failed
type MoverResult string

const (
	// MoverResultSuccessful means the last mover run succeeded.
	MoverResultSuccessful MoverResult = "Successful"
	// MoverResultFailed means the last mover run failed.
	MoverResultFailed MoverResult = "Failed"
)

// MoverStatus reports the result of the most recent mover run.
type MoverStatus struct {
	// result is Successful or Failed.
	// +optional
	Result MoverResult `json:"result,omitempty"`
	// logs is a short summary of the mover's output.
	// +optional
	Logs string `json:"logs,omitempty"`
}

// ExternalSpec hands an object to an external provider; VolSync's own movers ignore it.
type ExternalSpec struct {
	// provider names the external provider, e.g. "example.com/provider".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Provider string `json:"provider,omitempty"`
	// parameters are passed to the provider.
	// +optional
	// +kubebuilder:validation:MaxProperties=128
	Parameters map[string]string `json:"parameters,omitempty"`
}

// ReplicationSourceExternalSpec hands a ReplicationSource to an external provider.
type ReplicationSourceExternalSpec = ExternalSpec

// ReplicationDestinationExternalSpec hands a ReplicationDestination to an external provider.
type ReplicationDestinationExternalSpec = ExternalSpec

// CommonStatus holds the status fields shared by ReplicationSource and ReplicationDestination.
type CommonStatus struct {
	// lastSyncTime is when the most recent successful synchronization finished.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// lastSyncStartTime is when the synchronization in progress started; it is unset between
	// synchronizations.
	// +optional
	LastSyncStartTime *metav1.Time `json:"lastSyncStartTime,omitempty"`
	// lastSyncDuration is how long the most recent successful synchronization took.
	// +optional
	LastSyncDuration *metav1.Duration `json:"lastSyncDuration,omitempty"`
	// nextSyncTime is when the next scheduled synchronization starts (schedule triggers only).
	// +optional
	NextSyncTime *metav1.Time `json:"nextSyncTime,omitempty"`
	// lastManualSync is the value of spec.trigger.manual when the most recent synchronization
	// finished.
	// +optional
	LastManualSync string `json:"lastManualSync,omitempty"`
	// manualSyncInProgress is the value of spec.trigger.manual when the synchronization in
	// progress started; it becomes lastManualSync when that synchronization completes, so a
	// manual value set during a synchronization starts another one afterwards.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ManualSyncInProgress string `json:"manualSyncInProgress,omitempty"`
	// latestMoverStatus is the result of the most recent mover run.
	// +optional
	LatestMoverStatus *MoverStatus `json:"latestMoverStatus,omitempty"`
	// conditions hold the Synchronizing condition.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
