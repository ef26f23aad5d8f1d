#!/usr/bin/perl
# For each file named on the command line, prints one line:
#   path <TAB> score <TAB> tests hit (comma-separated) <TAB> sub-rules hit
# as SpamAssassin checks it with its stock configuration, local tests only
# (no DNS, no network plugins) and no Bayes or auto-welcomelist. One
# process loads the rules once and checks every file, so this runs at the
# speed of one spamd child.
#
# With no arguments it reads the file names from standard input, one per
# line, and checks each as it arrives; an empty line makes it write an
# empty line and flush its output (as `filterscan scan --files-from -`
# does), so that another program can time it slice by slice.
#
# Used by tests/spamassassin.rs and scripts/bench-spamassassin.py.
use strict;
use warnings;
use Mail::SpamAssassin;
use Time::HiRes qw(time);
use IO::Handle;

# SA_CHECK_EXTRA_CF names a file of further settings, read last (a
# site's lists, say).
my $extra = '';
if (my $cf = $ENV{SA_CHECK_EXTRA_CF}) {
    open(my $fh, '<', $cf) or die "$cf: $!";
    local $/;
    $extra = <$fh>;
    close $fh;
}

my $sa = Mail::SpamAssassin->new({
    local_tests_only => 1,
    dont_copy_prefs  => 1,
    userprefs_filename => '/dev/null',
    post_config_text => "use_bayes 0\nuse_auto_whitelist 0\nuse_txrep 0\n$extra",
});
$sa->init(1);

my $t0 = time;
my $n = 0;
my $next = @ARGV ? sub { shift @ARGV } : sub { scalar <STDIN> };
while (defined(my $path = $next->())) {
    $path =~ s/\r?\n\z//;
    if ($path eq '') {
        print "\n";
        STDOUT->flush();
        next;
    }
    open(my $fh, '<', $path) or do { print STDERR "$path: $!\n"; next };
    binmode $fh;
    local $/;
    my $text = <$fh>;
    close $fh;
    my $msg = $sa->parse($text);
    my $pms = $sa->check($msg);
    my $tests = $pms->get_tag('TESTS');
    my $sub = $pms->get_tag('SUBTESTS');
    printf "%s\t%.3f\t%s\t%s\n", $path, $pms->get_score(), $tests, $sub;
    $pms->finish;
    $msg->finish;
    $n++;
}
my $dt = time - $t0;
printf STDERR "checked %d messages in %.2f s (%.1f per second)\n", $n, $dt, $dt > 0 ? $n / $dt : 0;
