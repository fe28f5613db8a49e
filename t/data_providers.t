#!/usr/bin/perl
# Validates the provider data files (providers/providers.json,
# providers/models.json) and tools/mint-key. Core perl modules only.
# Run: prove -v t/data_providers.t
use strict;
use warnings;
use Test::More;
use JSON::PP ();
use File::Basename qw(dirname);
use File::Spec;
use Digest::SHA qw(sha256_hex);
use B ();

my $root = File::Spec->rel2abs(File::Spec->catdir(dirname(__FILE__), File::Spec->updir));

sub slurp {
    my ($p) = @_;
    open my $fh, '<:raw', $p or die "cannot read $p: $!";
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}

sub load_json {
    my ($rel) = @_;
    my $path = File::Spec->catfile($root, $rel);
    my $d = eval { JSON::PP->new->utf8->decode(slurp($path)) };
    ok(defined $d, "$rel parses as JSON") or diag($@);
    return $d;
}

sub is_str  { defined $_[0] && !ref $_[0] && !JSON::PP::is_bool($_[0]) }
sub is_int  {
    my ($v) = @_;
    return 0 unless defined $v && !ref $v;
    # a JSON number (not a string) decodes with IOK or NOK set
    return $v =~ /^-?\d+$/ && (B::svref_2object(\$v)->FLAGS & (B::SVf_IOK() | B::SVf_NOK())) ? 1 : 0;
}

# ---------------------------------------------------------------- providers
my $pj = load_json('providers/providers.json');
BAIL_OUT('providers.json unreadable') unless ref $pj eq 'HASH';

is($pj->{schema_version}, 1, 'providers.json schema_version 1');
ok(ref $pj->{providers} eq 'ARRAY' && @{ $pj->{providers} }, 'providers is a non-empty array');

my %known_keys = map { $_ => 1 }
    qw(name legacy_name api base_url chat_path responses_path embeddings_path
       auth headers priority stream_usage);
my %api  = map { $_ => 1 } qw(openai anthropic);
my %auth = map { $_ => 1 } qw(bearer x-api-key api-key none);
my (%prov, %legacy_seen);

for my $i (0 .. $#{ $pj->{providers} }) {
    my $p = $pj->{providers}[$i];
    my $n = (ref $p eq 'HASH' && is_str($p->{name})) ? $p->{name} : "#$i";
    subtest "provider $n" => sub {
        ok(ref $p eq 'HASH', 'is an object') or return;
        for my $k (qw(name legacy_name api base_url chat_path auth priority stream_usage)) {
            ok(exists $p->{$k}, "has $k");
        }
        my @unknown = grep { !$known_keys{$_} } sort keys %$p;
        is_deeply(\@unknown, [], 'no unknown fields');

        ok(is_str($p->{name}) && $p->{name} =~ /^[a-z0-9][a-z0-9-]*$/, 'name matches ^[a-z0-9][a-z0-9-]*$');
        ok(!$prov{ $p->{name} // '' }, 'name unique');
        ok(is_str($p->{legacy_name}) && $p->{legacy_name} =~ /^[A-Z0-9]+$/,
            'legacy_name is an upper-case word');
        ok(is_str($p->{api}) && $api{ $p->{api} }, 'api is openai or anthropic');
        ok(is_str($p->{auth}) && $auth{ $p->{auth} }, 'auth is bearer, x-api-key, api-key or none');
        ok(is_str($p->{base_url})
            && $p->{base_url} =~ m{^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:/[^\s?#]*)?$}
            && $p->{base_url} !~ m{/$},
            'base_url is scheme://host[:port][/prefix] without trailing slash')
            or diag("base_url: " . ($p->{base_url} // 'undef'));
        ok(is_str($p->{chat_path}) && $p->{chat_path} =~ m{^/\S*$}, "chat_path starts with '/'");
        for my $k (qw(responses_path embeddings_path)) {
            ok(is_str($p->{$k}) && $p->{$k} =~ m{^/\S*$}, "$k starts with '/'")
                if exists $p->{$k};
        }
        ok(!exists $p->{responses_path} && !exists $p->{embeddings_path},
           'anthropic api: no native responses or embeddings')
            if ($p->{api} // '') eq 'anthropic';
        if (exists $p->{headers}) {
            ok(ref $p->{headers} eq 'HASH', 'headers is an object');
            if (ref $p->{headers} eq 'HASH') {
                for my $h (sort keys %{ $p->{headers} }) {
                    ok($h =~ /^[A-Za-z0-9!#\$%&'*+.^_`|~-]+$/, "header name '$h' is a token");
                    ok(is_str($p->{headers}{$h}) && $p->{headers}{$h} !~ /[\r\n]/,
                        "header '$h' value is a single-line string");
                }
            }
        }
        ok(is_int($p->{priority}) && $p->{priority} >= 0, 'priority is a non-negative integer');
        ok(JSON::PP::is_bool($p->{stream_usage}), 'stream_usage is a boolean');
        if (($p->{api} // '') eq 'anthropic') {
            is($p->{auth}, 'x-api-key', 'anthropic api uses x-api-key');
            ok(ref $p->{headers} eq 'HASH' && is_str($p->{headers}{'anthropic-version'}),
                'anthropic api sends anthropic-version');
        }
        $prov{ $p->{name} } = $p if is_str($p->{name});
    };
}

# spot checks of facts carried over from the research data
for my $want (qw(openai anthropic google-ai-studio groq xai helicone openrouter cohere ollama)) {
    ok($prov{$want}, "provider $want present");
}
for my $absent (qw(azure bedrock vertex qstash firecrawl cloudflare local predibase)) {
    ok(!$prov{$absent}, "provider $absent not in the table");
}
SKIP: {
    skip 'cohere missing', 1 unless $prov{cohere};
    ok(!$prov{cohere}{stream_usage}, 'cohere: stream_usage false');
}
SKIP: {
    skip 'ollama missing', 1 unless $prov{ollama};
    is($prov{ollama}{auth}, 'none', 'ollama: auth none');
}

# ---------------------------------------------------------------- models
my $mj = load_json('providers/models.json');
BAIL_OUT('models.json unreadable') unless ref $mj eq 'HASH';

is($mj->{schema_version}, 1, 'models.json schema_version 1');
ok(ref $mj->{aliases} eq 'HASH', 'aliases is an object');
ok(ref $mj->{models} eq 'HASH' && %{ $mj->{models} }, 'models is a non-empty object');

my (@bad, $nendpoints);
for my $m (sort keys %{ $mj->{models} }) {
    my $eps = $mj->{models}{$m};
    if (ref $eps ne 'ARRAY' || !@$eps) { push @bad, "$m: empty or not a list"; next }
    push @bad, "$m: empty model name" unless length $m;
    my %seen;
    for my $e (@$eps) {
        $nendpoints++;
        if (ref $e ne 'HASH') { push @bad, "$m: endpoint is not an object"; next }
        push @bad, "$m: unknown provider " . ($e->{provider} // 'undef')
            unless is_str($e->{provider}) && $prov{ $e->{provider} };
        push @bad, "$m: empty id for " . ($e->{provider} // 'undef')
            unless is_str($e->{id}) && length $e->{id};
        push @bad, "$m: duplicate provider $e->{provider}"
            if is_str($e->{provider}) && $seen{ $e->{provider} }++;
    }
}
is_deeply(\@bad, [], 'every model has endpoints with known providers and non-empty ids')
    or diag(join("\n", @bad));
note(scalar(keys %{ $mj->{models} }) . " models, " . ($nendpoints // 0) . " endpoints");

my @bad_alias = grep {
    !is_str($mj->{aliases}{$_}) || !exists $mj->{models}{ $mj->{aliases}{$_} }
} sort keys %{ $mj->{aliases} };
is_deeply(\@bad_alias, [], 'every alias target exists in models')
    or diag(join("\n", @bad_alias));

# ---------------------------------------------------------------- gen-models
SKIP: {
    my $costs = File::Spec->catfile($root, File::Spec->updir, 'shared', 'data', 'costs.json');
    skip 'costs.json not available', 1 unless -r $costs;
    my $gen = File::Spec->catfile($root, 'tools', 'gen-models');
    my $out = `"$^X" "$gen" --stdout "$costs"`;
    ok($? == 0 && $out eq slurp(File::Spec->catfile($root, 'providers', 'models.json')),
        'tools/gen-models reproduces providers/models.json byte for byte');
}

# ---------------------------------------------------------------- mint-key
my $mint = File::Spec->catfile($root, 'tools', 'mint-key');
ok(-x $mint, 'tools/mint-key is executable');

my $key_re = qr/sk-helicone-[a-z2-7]{7}-[a-z2-7]{7}-[a-z2-7]{7}-[a-z2-7]{7}/;
my $uuid_re = qr/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/;

{
    my $out = `sh "$mint"`;
    is($?, 0, 'mint-key exits 0');
    like($out, qr/\Akey: $key_re\nline: [0-9a-f]{64} $uuid_re default\n\z/,
        'mint-key default output format');
    my ($key)  = $out =~ /^key: (\S+)$/m;
    my ($hash) = $out =~ /^line: ([0-9a-f]{64}) /m;
    is($hash, sha256_hex("Bearer " . ($key // '')), 'hash is sha256("Bearer <key>")');
}
{
    my $out = `sh "$mint" org-123 myapp`;
    like($out, qr/\Akey: $key_re\nline: [0-9a-f]{64} org-123 myapp\n\z/,
        'mint-key with org-id and name');
    my ($key)  = $out =~ /^key: (\S+)$/m;
    my ($hash) = $out =~ /^line: ([0-9a-f]{64}) /m;
    is($hash, sha256_hex("Bearer " . ($key // '')), 'hash matches with explicit args');
}
{
    my $errf = File::Spec->catfile(File::Spec->tmpdir, "mint-key-err.$$");
    my $out = `sh "$mint" --quiet org-9 2>"$errf"`;
    my $err = -e $errf ? slurp($errf) : '';
    unlink $errf;
    like($out, qr/\A[0-9a-f]{64} org-9 default\n\z/, '--quiet prints only the keys-file line');
    like($err, qr/\A$key_re\n\z/, '--quiet prints the key on stderr');
    my ($key)  = $err =~ /($key_re)/;
    my ($hash) = $out =~ /^([0-9a-f]{64})/;
    is($hash, sha256_hex("Bearer " . ($key // '')), '--quiet hash matches the key');
}
{
    my %keys;
    $keys{$_}++ for map { my ($k) = `sh "$mint"` =~ /^key: (\S+)/m; $k // '' } 1 .. 5;
    is(scalar(keys %keys), 5, 'keys are random');
    system("sh \"$mint\" 'bad name' >/dev/null 2>&1");
    isnt($? >> 8, 0, 'mint-key rejects an org-id with white space');
}

done_testing();
