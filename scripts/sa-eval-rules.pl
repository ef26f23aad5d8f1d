#!/usr/bin/perl
# The stock eval rules as SpamAssassin itself configures them, highest
# score first: one line per rule,
#   score <TAB> rule <TAB> eval function <TAB> native|-
# for every eval rule with a score in score set 0 (no network, no Bayes)
# that is not a network test (tflags net). "native" marks the rules whose
# function `filterscan rules --check -v` does not list as unimplemented.
#
#   perl scripts/sa-eval-rules.pl [FILTERSCAN] | head -40
#
# FILTERSCAN defaults to target/release/filterscan. Needs Debian's
# spamassassin (the stock rules and the site's .pre files it loads).
use strict;
use warnings;
use Mail::SpamAssassin;

my $filterscan = shift // 'target/release/filterscan';
my %missing;
open(my $fs, '-|', $filterscan, 'rules', '--check', '-v',
     '/etc/spamassassin', '/usr/share/spamassassin')
    or die "$filterscan: $!";
my $in = 0;
while (<$fs>) {
    if (/^unimplemented eval rules/) { $in = 1; next }
    if ($in && /^  [\w.]+: (.*)$/) { $missing{$_} = 1 for split ' ', $1; next }
    $in = 0;
}
close $fs;

my $sa = Mail::SpamAssassin->new({
    local_tests_only => 1,
    dont_copy_prefs  => 1,
    userprefs_filename => '/dev/null',
    post_config_text => "use_bayes 0\n",
});
$sa->init(1);
my $conf = $sa->{conf};
my $set0 = $conf->{scoreset}->[0];
my @rows;
for my $f (keys %{$conf->{eval_to_rule}}) {
    for my $rule (@{$conf->{eval_to_rule}->{$f}}) {
        my $score = $set0->{$rule} // 0;
        next if $score == 0 || ($conf->{tflags}->{$rule} // '') =~ /\bnet\b/;
        push @rows, [$score, $rule, $f];
    }
}
for my $r (sort { abs($b->[0]) <=> abs($a->[0]) || $a->[1] cmp $b->[1] } @rows) {
    printf "%.3f\t%s\t%s\t%s\n", @$r, $missing{$r->[1]} ? '-' : 'native';
}
