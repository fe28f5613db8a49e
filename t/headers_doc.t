#!/usr/bin/perl

# docs/headers.md lists every Helicone header the module reads or sends:
# each "helicone-..." header name in the source (the header table of
# headers.c and the concerns that read their own) must be there.

use strict;
use warnings;

use FindBin;
use Test::More;

my $root = "$FindBin::Bin/..";

open my $fh, '<', "$root/docs/headers.md" or die "docs/headers.md: $!\n";
my $doc = lc do { local $/; <$fh> };
close $fh;

# not headers: prefixes, and key names of the stores
my %skip = map { $_ => 1 }
    qw(helicone- helicone-property- helicone-retry- helicone-cache-2
       helicone-key);

my (%names, %table);

for my $file (glob "$root/ngx_http_helicone_module/*.c") {
    open my $src, '<', $file or die "$file: $!\n";
    my $text = do { local $/; <$src> };
    close $src;

    $names{ lc $1 } = 1 while $text =~ /"((?:x-)?helicone-[A-Za-z0-9-]*)"/gi;

    if ($file =~ /_headers\.c$/) {
        $table{ lc $1 } = 1
            while $text =~ /\{\s*ngx_string\("(helicone-[a-z0-9-]+)"\)/g;
    }
}

delete @names{ keys %skip };

ok(keys %table >= 13, 'the header table has its rows (' . keys(%table) . ')');
ok(keys %names >= 40, 'header names found in the source (' . keys(%names) . ')');

for my $name (sort keys %names) {
    ok(index($doc, "`$name") >= 0 || index($doc, "$name`") >= 0,
       "docs/headers.md lists $name");
}

for my $name (sort keys %table) {
    ok($names{$name}, "table row $name is a header name of the source");
}

done_testing;
