#!/usr/bin/perl
# Summarises one bench/run: medians per case, ratios gateway/bare.
# usage: report.pl META RESULTS.TSV OUT.md   (the table also goes to stdout)

use strict;
use warnings;

my ($meta_file, $tsv, $out) = @ARGV;
die "usage: $0 META RESULTS.TSV OUT.md\n" unless defined $out;

my %meta;
open my $mf, '<', $meta_file or die "$meta_file: $!\n";
while (<$mf>) {
    chomp;
    my ($k, $v) = split /=/, $_, 2;
    $meta{$k} = $v;
}
close $mf;

open my $tf, '<', $tsv or die "$tsv: $!\n";
my $head = <$tf>;
chomp $head;
my @cols = split /\t/, $head;
my (%runs, @modes, @cases, %seen_mode, %seen_case);
while (<$tf>) {
    chomp;
    my %r;
    @r{@cols} = split /\t/;
    push @{ $runs{ $r{mode} }{ $r{case} } }, \%r;
    push @modes, $r{mode} unless $seen_mode{ $r{mode} }++;
    push @cases, $r{case} unless $seen_case{ $r{case} }++;
}
close $tf;

sub median {
    my @v = sort { $a <=> $b } grep { defined && $_ ne '-' } @_;
    return undef unless @v;
    my $n = @v;
    return $n % 2 ? $v[ $n / 2 ] : ($v[ $n / 2 - 1 ] + $v[ $n / 2 ]) / 2;
}

sub col {
    my ($list, $c) = @_;
    return map { $_->{$c} } @$list;
}

sub ms { defined $_[0] ? sprintf('%.2f ms', $_[0] / 1000) : '-' }
sub ratio { defined $_[0] && defined $_[1] && $_[1] ? sprintf('%.2fx', $_[0] / $_[1]) : '-' }

my %label = (
    'bare'     => 'bare proxy_pass',
    'gw-unbuf' => 'gateway, log unbuffered',
    'gw-buf'   => 'gateway, log buffer=64k flush=1s',
);

my @md;
push @md, '# Benchmark: gateway vs bare nginx proxy_pass', '';
push @md, "Written by `make bench` (bench/run); method in docs/performance.md.", '';
push @md, "- date: $meta{date}";
push @md, "- nginx: $meta{nginx}; module $meta{module} at commit $meta{commit}";
push @md, "- CPU: $meta{cpu}, nproc $meta{nproc}; $meta{kernel}; load average after the run $meta{loadavg}";
push @md, "- $meta{wrk}: -t$meta{threads} -c$meta{connections} -d$meta{duration} --latency, "
        . "$meta{rounds} interleaved rounds, $meta{warmup} warm-up per server and mode"
        . ($meta{pin} eq '1' ? ', pinned (server under test on CPU 0; backend and wrk on CPU 1)' : ', not pinned');
push @md, "- one worker process for every nginx (backend, bare, gateway)";
push @md, "- raw wrk outputs: $meta{raw}/ (not committed)";
push @md, '';
push @md, 'Medians over the rounds. req/s ratio = gateway / bare (higher is better); latency ratios'
        . ' = gateway / bare (lower is better). "per-round" is the range of the ratios of each'
        . ' round\'s pair. "CPU us/req": CPU time of the nginx worker under test per request;'
        . ' "bare/gw CPU" = its ratio, the throughput ratio to expect when both are CPU-bound'
        . ' (less sensitive to other load on the box than req/s). CPU %: of one core during the'
        . ' run; "others" = everything else on the box (other processes, kernel threads).';
push @md, '';

my (%summary, %cpu_summary);

# CPU time the worker under test spent per request, in microseconds
sub cpu_per_req {
    my ($r) = @_;
    my ($secs) = $meta{duration} =~ /^([\d.]+)s$/;
    ($secs) = map { $_ * 60 } $meta{duration} =~ /^([\d.]+)m$/ unless defined $secs;
    return undef unless defined $secs && $r->{requests};
    return $r->{sut_cpu} / 100 * $secs * 1e6 / $r->{requests};
}

for my $mode (@modes) {
    push @md, "## $mode", '';
    push @md, '| case | req/s | (min - max) | p50 | p99 | req/s ratio | per-round | p50 ratio | p99 ratio | CPU us/req | bare/gw CPU | CPU % sut / backend / wrk / others |';
    push @md, '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';

    my $bare = $runs{$mode}{bare};
    my ($b_rps, $b_p50, $b_p99, $b_cpr);
    if ($bare) {
        $b_rps = median(col($bare, 'rps'));
        $b_p50 = median(col($bare, 'p50_us'));
        $b_p99 = median(col($bare, 'p99_us'));
        $b_cpr = median(map { cpu_per_req($_) } @$bare);
    }

    for my $case (@cases) {
        my $l = $runs{$mode}{$case} or next;
        my @rps = sort { $a <=> $b } col($l, 'rps');
        my $rps = median(@rps);
        my $p50 = median(col($l, 'p50_us'));
        my $p99 = median(col($l, 'p99_us'));

        my $pr = '-';
        if ($bare && $case ne 'bare') {
            my %b = map { $_->{round} => $_->{rps} } @$bare;
            my @r = sort { $a <=> $b }
                    map { $_->{rps} / $b{ $_->{round} } }
                    grep { $b{ $_->{round} } } @$l;
            $pr = sprintf('%.2f - %.2f', $r[0], $r[-1]) if @r;
        }

        my $others = median(map { $_->{box_busy} * $meta{nproc} - $_->{sut_cpu}
                                  - $_->{backend_cpu} - $_->{wrk_cpu} } @$l);
        my $cpu = sprintf('%s / %s / %s / %.0f',
                          median(col($l, 'sut_cpu')), median(col($l, 'backend_cpu')),
                          median(col($l, 'wrk_cpu')), $others < 0 ? 0 : $others);
        my $cpr = median(map { cpu_per_req($_) } @$l);

        push @md, sprintf('| %s | %.0f | (%.0f - %.0f) | %s | %s | %s | %s | %s | %s | %.1f | %s | %s |',
                          $label{$case} // $case, $rps, $rps[0], $rps[-1], ms($p50), ms($p99),
                          $case eq 'bare' ? '1.00x' : ratio($rps, $b_rps), $pr,
                          $case eq 'bare' ? '1.00x' : ratio($p50, $b_p50),
                          $case eq 'bare' ? '1.00x' : ratio($p99, $b_p99), $cpr,
                          $case eq 'bare' ? '1.00x' : ratio($b_cpr, $cpr), $cpu);
        $cpu_summary{$mode}{$case} = $b_cpr && $cpr ? $b_cpr / $cpr : undef;

        $summary{$mode}{$case} = $b_rps ? $rps / $b_rps : undef;
    }

    my @ev = grep { $_->{log_lines} ne '-' && $_->{log_lines} > 0 } map { @{ $runs{$mode}{$_} // [] } } @cases;
    if (@ev) {
        my $avg = median(map { $_->{log_bytes} / $_->{log_lines} } @ev);
        push @md, '', sprintf('Log events: one per request (checked each run), about %.0f bytes each.', $avg);
    }
    push @md, '';
}

push @md, '## Against the targets', '';
push @md, '| mode | case | req/s ratio | bare/gw CPU per request | >= 0.80x (issue, file log on) | >= 0.90x (DESIGN.md 1a) |';
push @md, '|---|---|---:|---:|---|---|';
for my $mode (@modes) {
    for my $case (grep { $_ ne 'bare' } @cases) {
        my $r = $summary{$mode}{$case};
        next unless defined $r;
        my $c = $cpu_summary{$mode}{$case};
        push @md, sprintf('| %s | %s | %.2fx | %s | %s | %s |', $mode, $label{$case} // $case, $r,
                          defined $c ? sprintf('%.2fx', $c) : '-',
                          $r >= 0.80 ? 'met' : 'NOT met', $r >= 0.90 ? 'met' : 'NOT met');
    }
}
push @md, '';

my $text = join("\n", @md);
open my $of, '>', $out or die "$out: $!\n";
print $of $text;
close $of;
print $text;
