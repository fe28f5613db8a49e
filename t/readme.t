#!/usr/bin/perl

# Tests for the configurations the documentation prints: README.md's
# minimal configuration and docs/directives.md's example pass nginx -t as
# printed. Only where they live changes: the module is the one built
# here, and /etc/nginx and /var/log/nginx are a scratch root laid out by
# make install (DESTDIR), as the package would lay out the real ones.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $dir = $t->dir;
my $src = $t->root;
my $root = "$dir/root";

my $out = `make -s --no-print-directory -C '$src' install DESTDIR='$root' 2>&1`;
is($?, 0, 'make install into a scratch root') or diag($out);
ok(-e "$root/etc/nginx/helicone-keys", 'install - an empty keys file');

mkdir "$dir/log";

# the first ```nginx block after a heading
sub example {
    my ($file, $heading) = @_;
    my $text = $t->read_file("$src/$file") // '';
    my ($conf) = $text =~ /^\Q$heading\E\n.*?^```nginx\n(.*?)^```$/ms;
    return $conf;
}

$ENV{OPENAI_API_KEY} = 'sk-test-openai';

for my $case ([ 'README.md', '## A minimal configuration' ],
              [ 'docs/directives.md', '## Example Configuration' ])
{
    my ($file, $heading) = @$case;
    my $conf = example($file, $heading);

    ok(defined $conf, "$file - found the configuration") or next;

    my $module = $t->module_path;
    ok($conf =~ s{^load_module modules/ngx_http_helicone_module\.so;}
                 {load_module $module;}m,
       "$file - it loads the module");
    $conf =~ s{/etc/nginx/}{$root/etc/nginx/}g;
    $conf =~ s{/var/log/nginx/}{$dir/log/}g;

    $t->write_file('nginx.conf', $conf);

    my ($code, $nt) = $t->nginx_t;
    is($code, 0, "$file - nginx -t passes") or diag($nt);
}

done_testing;
