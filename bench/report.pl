#!/usr/bin/perl
# Summarises one bench/run: medians per case, ratios gateway/bare
# (translate: translated/openai; failover: failover/direct, and the extra
# p50 of one failover against one upstream round trip).
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

# milliseconds; below 0.1 ms with three decimals (the -c1 runs)
sub ms {
    return '-' unless defined $_[0];
    return sprintf(abs($_[0]) < 100 ? '%.3f ms' : '%.2f ms', $_[0] / 1000);
}
sub ratio { defined $_[0] && defined $_[1] && $_[1] ? sprintf('%.2fx', $_[0] / $_[1]) : '-' }

my %label = (
    'bare'       => 'bare proxy_pass',
    'gw-unbuf'   => 'gateway, log default (a write a turn)',
    'gw-buf'     => 'gateway, log buffer=64k flush=1s',
    'gw-null'    => 'gateway, events written to /dev/null',
    'openai'     => 'gateway, OpenAI stream (mockstream)',
    'translated' => 'gateway, translated Anthropic stream (mockclaude)',
    'responses'  => 'gateway, Responses stream translated from Anthropic (mockclaude)',
    'backend'    => 'backend directly (one upstream round trip)',
    'direct'     => 'gateway, direct success (mock)',
    'failover'   => 'gateway, 503 then success (mockfail,mock)',
);

# the case every other case of a mode is compared with
my %base = (
    'nonstream'   => 'bare',
    'stream'      => 'bare',
    'translate'   => 'openai',
    'failover'    => 'direct',
    'failover-c1' => 'direct',
);

# cases shown without ratios (not a variant of the base)
my %no_ratio = ('backend' => 1);

sub title {
    my ($mode, $l) = @_;
    my $w = "-c$l->[0]{connections} -d" . ($l->[0]{duration_s} // '?') . 's';
    return {
        'translate'   => "translate: streaming through the gateway (default file log), OpenAI provider vs Anthropic provider translated both ways; $w",
        'failover'    => "failover: non-stream through the gateway (default file log), direct success vs a 503 at once then success; $w",
        'failover-c1' => "failover, low concurrency: the same pair and the backend; $w",
    }->{$mode} // $mode;
}

my @md;
push @md, '# Benchmark: gateway vs bare nginx proxy_pass', '';
push @md, "Written by `make bench` (bench/run); method in docs/performance.md.", '';
push @md, "- date: $meta{date}";
push @md, "- nginx: $meta{nginx}; module $meta{module} at commit $meta{commit}";
push @md, "- CPU: $meta{cpu}, nproc $meta{nproc}; $meta{kernel}; load average after the run $meta{loadavg}";
push @md, "- $meta{wrk}: -t$meta{threads} -c$meta{connections} -d$meta{duration} --latency, "
        . "$meta{rounds} interleaved rounds, $meta{warmup} warm-up per server and mode"
        . ($meta{pin} eq '1' ? ', pinned (server under test on CPU 0; backend and wrk on CPU 1)' : ', not pinned')
        . ($runs{'failover-c1'} ? "; failover-c1: -c$meta{failover_connections} -d$meta{failover_duration}, no warm-up" : '');
push @md, "- one worker process for every nginx (backend, bare, gateway)";
if (defined $meta{append_us}) {
    my @a = split ' ', $meta{append_us};
    my @o = split ' ', $meta{overwrite_us};
    my @r = split ' ', $meta{reserved_us} // '';
    push @md, sprintf('- one %s-byte log line, measured without nginx (build/append-cost, %d runs of'
                      . ' 256 MB, in the logs\' file system): %s us appended (new page-cache pages),'
                      . '%s %s us written over cached pages', (split ' ', $meta{append_line})[0],
                      scalar @a, join(' / ', @a),
                      (@r ? ' ' . join(' / ', @r) . ' us appended with the sink\'s reserve,' : ''),
                      join(' / ', @o));
}
push @md, "- raw wrk outputs: $meta{raw}/ (not committed)";
push @md, '';
push @md, 'Medians over the rounds. req/s ratio = gateway / bare (higher is better); latency ratios'
        . ' = gateway / bare (lower is better); in translate the base is the OpenAI stream, in'
        . ' failover the direct success. "per-round" is the range of the ratios of each'
        . ' round\'s pair. "CPU us/req": CPU time of the nginx worker under test per request;'
        . ' "bare/gw CPU" = its ratio (base / case), the throughput ratio to expect when both are CPU-bound'
        . ' (less sensitive to other load on the box than req/s). CPU %: of one core during the'
        . ' run; "others" = everything else on the box (other processes, kernel threads).';
push @md, '';

my (%summary, %cpu_summary);

# CPU time the worker under test spent per request, in microseconds
sub cpu_per_req {
    my ($r) = @_;
    my $secs = $r->{duration_s};
    ($secs) = $meta{duration} =~ /^([\d.]+)s?$/ unless defined $secs;
    ($secs) = map { $_ * 60 } $meta{duration} =~ /^([\d.]+)m$/ unless defined $secs;
    return undef unless defined $secs && $r->{requests};
    return $r->{sut_cpu} / 100 * $secs * 1e6 / $r->{requests};
}

my (%fo, %tr);

for my $mode (@modes) {
    my $bc = $base{$mode} // 'bare';
    push @md, '## ' . title($mode, $runs{$mode}{ (keys %{ $runs{$mode} })[0] }), '';
    push @md, '| case | req/s | (min - max) | p50 | p99 | req/s ratio | per-round | p50 ratio | p99 ratio | CPU us/req | bare/gw CPU | CPU % sut / backend / wrk / others |';
    push @md, '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';

    my $bare = $runs{$mode}{$bc};
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

        my $is_base = $case eq $bc;
        my $nr = $no_ratio{$case};
        my $pr = '-';
        if ($bare && !$is_base && !$nr) {
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
                          $is_base ? '1.00x' : $nr ? '-' : ratio($rps, $b_rps), $pr,
                          $is_base ? '1.00x' : $nr ? '-' : ratio($p50, $b_p50),
                          $is_base ? '1.00x' : $nr ? '-' : ratio($p99, $b_p99), $cpr,
                          $is_base ? '1.00x' : $nr ? '-' : ratio($b_cpr, $cpr), $cpu);
        next if $nr;
        $cpu_summary{$mode}{$case} = $b_cpr && $cpr ? $b_cpr / $cpr : undef;

        $summary{$mode}{$case} = $b_rps ? $rps / $b_rps : undef;
    }

    if ($mode eq 'translate' && $runs{$mode}{translated} && $bare) {
        $tr{rps} = $summary{$mode}{translated};
        $tr{cpu} = $cpu_summary{$mode}{translated};

        # a translated Responses stream against a translated chat stream
        if ($runs{$mode}{responses}) {
            my $c = median(map { cpu_per_req($_) } @{ $runs{$mode}{translated} });
            my $r = median(map { cpu_per_req($_) } @{ $runs{$mode}{responses} });
            $tr{responses} = $c ? $r / $c : undef;
        }
    }

    # one failover: its extra p50 against one upstream round trip (the
    # backend's own p50 under the same load)
    if ($mode =~ /^failover/ && $bare && $runs{$mode}{failover} && $runs{$mode}{backend}) {
        # paired by round: failover - direct of the same round, over that
        # round's backend p50
        my $f = $runs{$mode}{failover};
        my %d = map { $_->{round} => $_->{p50_us} } @$bare;
        my %rt = map { $_->{round} => $_->{p50_us} } @{ $runs{$mode}{backend} };
        my @f = grep { defined $d{ $_->{round} } && $rt{ $_->{round} } } @$f;
        my @pe = sort { $a <=> $b } map { $_->{p50_us} - $d{ $_->{round} } } @f;
        my @px = sort { $a <=> $b } map { ($_->{p50_us} - $d{ $_->{round} }) / $rt{ $_->{round} } } @f;
        my $rt = median(values %rt);
        my $extra = median(@pe);
        my $x = median(@px);
        my $cpu_extra = median(map { cpu_per_req($_) } @$f) - $b_cpr;
        $fo{$mode} = { rt => $rt, extra => $extra, x => $x, conns => $f->[0]{connections} };
        push @md, '', sprintf('One failover adds %s at p50 (failover p50 - direct p50 of the same round, median;'
                              . ' per round %s to %s), %s the p50 of one upstream round trip'
                              . ' (backend directly, median %s; per round %s to %s); target <= 2x: %s.'
                              . ' Worker CPU per request: %+.1f us.',
                              ms($extra), ms($pe[0]), ms($pe[-1]),
                              defined $x ? sprintf('%.2fx', $x) : '-', ms($rt),
                              @px ? sprintf('%.2fx', $px[0]) : '-', @px ? sprintf('%.2fx', $px[-1]) : '-',
                              defined $x && $x <= 2 ? 'met' : 'NOT met', $cpu_extra);
    }

    my @ev = grep { $_->{log_lines} ne '-' && $_->{log_lines} > 0 } map { @{ $runs{$mode}{$_} // [] } } @cases;
    if (@ev) {
        my $avg = median(map { $_->{log_bytes} / $_->{log_lines} } @ev);
        push @md, '', sprintf('Log events: one per request (checked each run), about %.0f bytes each.', $avg);
    }
    push @md, '';
}

push @md, '## Against the targets', '';
my @rows;
for my $mode (grep { ($base{$_} // 'bare') eq 'bare' } @modes) {
    for my $case (grep { $_ ne 'bare' } @cases) {
        my $r = $summary{$mode}{$case};
        next unless defined $r;
        my $c = $cpu_summary{$mode}{$case};
        # gw-null leaves the file log out: not the issue's measure
        push @rows, sprintf('| %s | %s | %.2fx | %s | %s | %s |', $mode, $label{$case} // $case, $r,
                          defined $c ? sprintf('%.2fx', $c) : '-',
                          $case eq 'gw-null' ? sprintf('(no file log: %s)', $r >= 0.80 ? '>= 0.80x' : '< 0.80x')
                                             : $r >= 0.80 ? 'met' : 'NOT met',
                          $r >= 0.90 ? 'met' : 'NOT met');
    }
}
if (@rows) {
    push @md, '| mode | case | req/s ratio | bare/gw CPU per request | >= 0.80x (issue, file log on) | >= 0.90x (DESIGN.md 1a) |';
    push @md, '|---|---|---:|---:|---|---|';
    push @md, @rows, '';
}

# what the file costs the worker: the same gateway with and without it
for my $mode (grep { $runs{$_}{'gw-null'} && $runs{$_}{'gw-unbuf'} } @modes) {
    my $null = median(map { cpu_per_req($_) } @{ $runs{$mode}{'gw-null'} });
    my $unbuf = median(map { cpu_per_req($_) } @{ $runs{$mode}{'gw-unbuf'} });
    next unless defined $null && defined $unbuf;
    push @md, sprintf('%s: the log file costs the worker %.1f us per request (CPU per request,'
                      . ' default file log %.1f us - events to /dev/null %.1f us).',
                      $mode, $unbuf - $null, $unbuf, $null);
}
push @md, '' if grep { $runs{$_}{'gw-null'} } @modes;

if (%tr || %fo) {
    push @md, '| mode | measured | target | result |';
    push @md, '|---|---|---|---|';
    if (defined $tr{rps}) {
        push @md, sprintf('| translate | translated / OpenAI stream: %.2fx req/s (CPU per request %s) | >= 0.90x (issue: translation costs under 10%%) | %s |',
                          $tr{rps}, defined $tr{cpu} ? sprintf('%.2fx', $tr{cpu}) : '-',
                          $tr{rps} >= 0.90 ? 'met' : 'NOT met');
    }
    if (defined $tr{responses}) {
        push @md, sprintf('| translate | Responses / chat stream, both translated from Anthropic: %.2fx CPU per request | <= 1.1x (issue 15) | %s |',
                          $tr{responses}, $tr{responses} <= 1.1 ? 'met' : 'NOT met');
    }
    for my $mode (grep { $fo{$_} } @modes) {
        my $f = $fo{$mode};
        push @md, sprintf('| %s (-c%s) | extra p50 of one failover %s = %s the upstream round trip p50 %s | <= 2x one upstream round trip (issue) | %s |',
                          $mode, $f->{conns}, ms($f->{extra}),
                          defined $f->{x} ? sprintf('%.2fx', $f->{x}) : '-', ms($f->{rt}),
                          defined $f->{x} && $f->{x} <= 2 ? 'met' : 'NOT met');
    }
    push @md, '';
}

my $text = join("\n", @md);
open my $of, '>', $out or die "$out: $!\n";
print $of $text;
close $of;
print $text;
