#!/usr/bin/perl
# Validates the price table costs/costs.json (made by tools/gen-costs from
# Helicone's exported costs.json) against its schema and, when the shared
# data is present, against the data it came from. Core perl modules only.
# Run: prove -v t/data_costs.t
use strict;
use warnings;
use Test::More;
use JSON::PP ();
use File::Basename qw(dirname);
use File::Spec;
use B ();

my $root = File::Spec->rel2abs(File::Spec->catdir(dirname(__FILE__), File::Spec->updir));
my $shared = File::Spec->catfile($root, File::Spec->updir, 'shared', 'data', 'costs.json');

sub slurp {
    my ($p) = @_;
    open my $fh, '<:raw', $p or die "cannot read $p: $!";
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}

sub is_str { defined $_[0] && !ref $_[0] && !JSON::PP::is_bool($_[0]) }

# a JSON number (not a string) decodes with IOK or NOK set and no POK
sub is_num {
    my ($v) = @_;
    return 0 unless defined $v && !ref $v;
    my $f = B::svref_2object(\$v)->FLAGS;
    return ($f & (B::SVf_IOK() | B::SVf_NOK())) && !($f & B::SVf_POK()) ? 1 : 0;
}

sub is_price { is_num($_[0]) && $_[0] >= 0 && $_[0] < 1e9 }

my $cj = eval { JSON::PP->new->utf8->decode(slurp(File::Spec->catfile($root, 'costs', 'costs.json'))) };
ok(ref $cj eq 'HASH', 'costs/costs.json parses as a JSON object') or diag($@);
BAIL_OUT('costs.json unreadable') unless ref $cj eq 'HASH';

is_deeply([ sort keys %$cj ], [qw(aliases legacy registry schema_version)], 'top-level keys');
is($cj->{schema_version}, 1, 'schema_version 1');

# ---------------------------------------------------------------- aliases
ok(ref $cj->{aliases} eq 'HASH', 'aliases is an object');
my @bad_alias = grep { !length $_ || !is_str($cj->{aliases}{$_}) || !length $cj->{aliases}{$_} }
    sort keys %{ $cj->{aliases} || {} };
is_deeply(\@bad_alias, [], 'aliases map names to non-empty names');

# ---------------------------------------------------------------- registry
my %rule_of = (anthropic => 'anthropic', 'google-ai-studio' => 'google',
               vertex => 'vertex', xai => 'xai');
my %rule = map { $_ => 1 } qw(first anthropic google vertex xai);
my %kind = map { $_ => 1 } qw(openai anthropic xai);
my %ep_keys = map { $_ => 1 }
    qw(provider model ids tier_rule usage_kind per_request_usd per_web_search_usd tiers);
my %tier_keys = map { $_ => 1 }
    qw(threshold input output cached_input cache_write_5m cache_write_1h thinking);

ok(ref $cj->{registry} eq 'ARRAY', 'registry is an array');
my $reg = ref $cj->{registry} eq 'ARRAY' ? $cj->{registry} : [];

my (@bad, %seen, $dups, $ntiers);
for my $i (0 .. $#$reg) {
    my $e = $reg->[$i];
    if (ref $e ne 'HASH') { push @bad, "#$i: not an object"; next }
    my $n = "#$i " . ($e->{provider} // '?') . ' ' . (ref $e->{ids} eq 'ARRAY' ? $e->{ids}[0] // '?' : '?');

    push @bad, "$n: unknown key $_" for grep { !$ep_keys{$_} } sort keys %$e;
    push @bad, "$n: bad provider"
        unless is_str($e->{provider}) && $e->{provider} =~ /^[a-z0-9][a-z0-9-]*$/;
    push @bad, "$n: bad model" unless is_str($e->{model}) && length $e->{model};
    if (ref $e->{ids} ne 'ARRAY' || !@{ $e->{ids} }
        || grep { !is_str($_) || !length $_ } @{ $e->{ids} })
    {
        push @bad, "$n: ids is not a list of non-empty strings";
    } else {
        my %u; push @bad, "$n: repeated id" if grep { $u{$_}++ } @{ $e->{ids} };
        $dups += grep { $seen{"$e->{provider} $_"}++ } @{ $e->{ids} };
    }
    push @bad, "$n: bad tier_rule" unless is_str($e->{tier_rule}) && $rule{ $e->{tier_rule} };
    push @bad, "$n: tier_rule is not the provider's"
        if is_str($e->{provider}) && ($e->{tier_rule} // '') ne ($rule_of{ $e->{provider} } // 'first');
    push @bad, "$n: bad usage_kind" unless is_str($e->{usage_kind}) && $kind{ $e->{usage_kind} };
    push @bad, "$n: xai endpoint without usage_kind xai"
        if ($e->{provider} // '') eq 'xai' && ($e->{usage_kind} // '') ne 'xai';
    for my $k (qw(per_request_usd per_web_search_usd)) {
        push @bad, "$n: bad $k" if exists $e->{$k} && !is_price($e->{$k});
    }

    if (ref $e->{tiers} ne 'ARRAY' || !@{ $e->{tiers} }) {
        push @bad, "$n: no tiers";
        next;
    }
    my $prev;
    for my $j (0 .. $#{ $e->{tiers} }) {
        my $t = $e->{tiers}[$j];
        $ntiers++;
        if (ref $t ne 'HASH') { push @bad, "$n tier $j: not an object"; next }
        push @bad, "$n tier $j: unknown key $_" for grep { !$tier_keys{$_} } sort keys %$t;
        for my $k (qw(threshold input output)) {
            push @bad, "$n tier $j: no $k" unless exists $t->{$k};
        }
        for my $k (grep { $tier_keys{$_} } sort keys %$t) {
            push @bad, "$n tier $j: bad $k" unless is_price($t->{$k});
        }
        my $th = $t->{threshold};
        push @bad, "$n tier $j: threshold is not an integer"
            unless is_num($th) && $th == int($th);
        push @bad, "$n: first threshold is not 0" if $j == 0 && ($th // -1) != 0;
        push @bad, "$n tier $j: thresholds not ascending"
            if defined $prev && defined $th && $th <= $prev;
        $prev = $th;
    }
}
is_deeply(\@bad, [], 'every registry entry is well formed') or diag(join("\n", @bad));
is(scalar(@$reg), 329, '329 registry endpoints');
note(scalar(@$reg) . " endpoints, " . ($ntiers // 0) . " tiers, "
    . ($dups // 0) . " (provider, id) pairs repeated under another model name");

# spot checks, by hand from spec/costs.md 3.4
my ($sonnet) = grep { $_->{provider} eq 'anthropic' && $_->{ids}[0] eq 'claude-sonnet-4-20250514' } @$reg;
ok($sonnet && $sonnet->{tiers}[0]{input} == 3 && $sonnet->{tiers}[0]{output} == 15
    && $sonnet->{tiers}[0]{cached_input} == 0.3 && $sonnet->{tiers}[0]{cache_write_5m} == 3.75
    && $sonnet->{tier_rule} eq 'anthropic' && $sonnet->{usage_kind} eq 'anthropic',
    'anthropic claude-sonnet-4: $3 / $15, read 0.3, 5m write 3.75');
my ($mini) = grep { $_->{provider} eq 'openai' && $_->{ids}[0] eq 'gpt-4o-mini' } @$reg;
ok($mini && $mini->{tiers}[0]{input} == 0.15 && $mini->{tiers}[0]{output} == 0.6
    && $mini->{tiers}[0]{cached_input} == 0.075 && $mini->{usage_kind} eq 'openai',
    'openai gpt-4o-mini: $0.15 / $0.6, read 0.075');
my ($bed) = grep { $_->{provider} eq 'bedrock' && $_->{ids}[0] =~ /claude-sonnet-4-2/ } @$reg;
ok($bed && $bed->{tier_rule} eq 'first' && $bed->{usage_kind} eq 'anthropic',
    'bedrock claude: tier rule first, anthropic usage');

# ---------------------------------------------------------------- legacy
my %match = map { $_ => 1 } qw(exact prefix substring);
my %row_keys = map { $_ => 1 } qw(match value input output cache_read cache_write
    cache_write_5m cache_write_1h audio_input audio_output per_image_usd per_call_usd);

ok(ref $cj->{legacy} eq 'ARRAY', 'legacy is an array');
my $leg = ref $cj->{legacy} eq 'ARRAY' ? $cj->{legacy} : [];

my (%tables, $nrows, @sentinel);
@bad = ();
for my $i (0 .. $#$leg) {
    my $p = $leg->[$i];
    if (ref $p ne 'HASH') { push @bad, "#$i: not an object"; next }
    my $n = $p->{provider} // "#$i";
    push @bad, "$n: unknown key $_" for grep { $_ ne 'provider' && $_ ne 'rows' } sort keys %$p;
    push @bad, "$n: bad provider name" unless is_str($p->{provider}) && $p->{provider} =~ /^[A-Z0-9]+$/;
    push @bad, "$n: listed twice" if $tables{$n};
    if (ref $p->{rows} ne 'ARRAY') { push @bad, "$n: rows is not an array"; next }
    $tables{$n} = $p->{rows};
    for my $j (0 .. $#{ $p->{rows} }) {
        my $r = $p->{rows}[$j];
        $nrows++;
        if (ref $r ne 'HASH') { push @bad, "$n row $j: not an object"; next }
        push @bad, "$n row $j: unknown key $_" for grep { !$row_keys{$_} } sort keys %$r;
        push @bad, "$n row $j: bad match" unless is_str($r->{match}) && $match{ $r->{match} };
        push @bad, "$n row $j: value is not a non-empty lower-case string"
            unless is_str($r->{value}) && length $r->{value} && $r->{value} !~ /[A-Z]/;
        for my $k (qw(input output)) {
            push @bad, "$n row $j: no $k" unless exists $r->{$k};
        }
        # Helicone prices openrouter/auto at -1 USD per token: "unknown",
        # which the loader turns into HELICONE_COST_UNSET (cost declined)
        if (is_num($r->{input}) && is_num($r->{output})
            && $r->{input} == -1000000 && $r->{output} == -1000000)
        {
            push @sentinel, "$n $r->{value}";
            next;
        }
        for my $k (grep { $row_keys{$_} && $_ ne 'match' && $_ ne 'value' } sort keys %$r) {
            push @bad, "$n row $j: bad $k" unless is_price($r->{$k});
        }
    }
}
is_deeply(\@bad, [], 'every legacy table and row is well formed') or diag(join("\n", @bad));
is_deeply(\@sentinel, ['OPENROUTER openrouter/auto'], 'only openrouter/auto has the -1 USD/token price');

is(scalar(@$leg), 36, '36 legacy tables (HELICONE merged)');
ok($tables{OPENAI} && $tables{AZURE} && @{ $tables{AZURE} } > @{ $tables{OPENAI} }
    && JSON::PP->new->canonical->encode([ @{ $tables{AZURE} }[ -@{ $tables{OPENAI} } .. -1 ] ])
       eq JSON::PP->new->canonical->encode($tables{OPENAI}),
    'AZURE ends with all OPENAI rows');
is($nrows, 1129 + 7 + 172,
   '1308 legacy rows: 1129, 7 embedding prices of tools/gen-costs, the 172 '
   . 'OPENAI rows again under AZURE');

# ---------------------------------------------------------------- shared data
SKIP: {
    skip 'shared costs.json not available', 7 unless -r $shared;
    my $d = JSON::PP->new->utf8->decode(slurp($shared));

    my $eps = $d->{registry}{endpoints};
    is(scalar(@$reg), scalar(@$eps), 'one registry entry per data endpoint');
    my @diff = grep {
        $reg->[$_]{provider} ne $eps->[$_]{provider}
          || $reg->[$_]{model} ne $eps->[$_]{model}
          || $reg->[$_]{ids}[0] ne $eps->[$_]{provider_model_id}
          || @{ $reg->[$_]{tiers} } != @{ $eps->[$_]{pricing_tiers} }
    } 0 .. ($#$reg < $#$eps ? $#$reg : $#$eps);
    is_deeply(\@diff, [], 'registry entries in data order, same tiers count');

    is_deeply($cj->{aliases}, $d->{model_name_aliases}, 'aliases equal model_name_aliases');

    my (%drows, @dorder);
    for my $p (@{ $d->{legacy}{providers} }) {
        push @dorder, $p->{provider} unless exists $drows{ $p->{provider} };
        $drows{ $p->{provider} } += @{ $p->{rows} };
    }
    my $dn = 0;
    $dn += $_ for values %drows;

    # the embedding prices tools/gen-costs adds after the data's rows
    my %embedding = (GOOGLE => 1, TOGETHER => 1, FIREWORKS => 1,
                     DEEPINFRA => 1, OPENROUTER => 3);
    my $en = 0;
    $en += $_ for values %embedding;

    is($nrows, $dn + $drows{OPENAI} + $en,
       'legacy rows: the data\'s, OPENAI\'s again, the embedding prices');
    is_deeply([ map { $_->{provider} } @$leg ], \@dorder, 'legacy tables in data order, merged');
    is_deeply({ map { $_ => scalar @{ $tables{$_} } } keys %tables },
              { map { $_ => $drows{$_} + ($embedding{$_} // 0)
                            + ($_ eq 'AZURE' ? $drows{OPENAI} : 0) } keys %drows },
              'each table has its data rows (AZURE: + OPENAI; embedding prices)');

    my $gen = File::Spec->catfile($root, 'tools', 'gen-costs');
    system($^X, $gen, '--check', $shared);
    is($?, 0, 'tools/gen-costs --check: costs/costs.json is up to date');
}

done_testing();
