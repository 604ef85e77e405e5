/* JSON: encoder primitives vs Python's json.dumps(separators=(",", ":"),
 * ensure_ascii=False), float repr, and the pull reader vs json.loads. */
#include <math.h>
#include <stdlib.h>

#include "harness.h"

/* Expected strings were produced by Python's repr() (CPython 3) for the
 * double with the given bit pattern: edge cases, 200 random bit patterns,
 * rounded decimals and powers of ten and two. */
typedef struct {
    uint64_t bits;
    const char *repr;
} float_case;

static const float_case float_cases[] = {
    {0x3fb999999999999aULL, "0.1"},
    {0x3fc999999999999aULL, "0.2"},
    {0x3fd3333333333333ULL, "0.3"},
    {0x3ff0000000000000ULL, "1.0"},
    {0x3ff8000000000000ULL, "1.5"},
    {0xbff8000000000000ULL, "-1.5"},
    {0x4059000000000000ULL, "100.0"},
    {0x40fe240c9fbe76c9ULL, "123456.789"},
    {0x4341c37937e08000ULL, "1e+16"},
    {0x430c6bf526340000ULL, "1000000000000000.0"},
    {0x4341c37937e07fffULL, "9999999999999998.0"},
    {0x3f1a36e2eb1c432dULL, "0.0001"},
    {0x3ee4f8b588e368f1ULL, "1e-05"},
    {0x3f202e4b6ce5dc68ULL, "0.00012345"},
    {0x3ee9e3abe16fc70dULL, "1.2345e-05"},
    {0x4480f0cf064dd592ULL, "1e+22"},
    {0x44b52d02c7e14af6ULL, "1e+23"},
    {0x0000000000000001ULL, "5e-324"},
    {0x0010000000000000ULL, "2.2250738585072014e-308"},
    {0x000fffffffffffffULL, "2.225073858507201e-308"},
    {0x7fefffffffffffffULL, "1.7976931348623157e+308"},
    {0xffefffffffffffffULL, "-1.7976931348623157e+308"},
    {0x400921fb54442d18ULL, "3.141592653589793"},
    {0x4005bf0a8b145769ULL, "2.718281828459045"},
    {0x3fd5555555555555ULL, "0.3333333333333333"},
    {0x3fe5555555555555ULL, "0.6666666666666666"},
    {0x7e41eb2d66005835ULL, "1.5e+300"},
    {0x01b01297d23ab683ULL, "1.5e-300"},
    {0x405ec00000000000ULL, "123.0"},
    {0x54b249ad2594c37dULL, "1e+100"},
    {0x4340000000000000ULL, "9007199254740992.0"},
    {0x4340000000000000ULL, "9007199254740992.0"},
    {0x4011666666666666ULL, "4.35"},
    {0x3fd3333333333334ULL, "0.30000000000000004"},
    {0x3e7ad7f29abcaf48ULL, "1e-07"},
    {0x43e56a95319d63e1ULL, "1.2345678901234567e+19"},
    {0x3fe0000000000000ULL, "0.5"},
    {0x3fd0000000000000ULL, "0.25"},
    {0x0000000000000003ULL, "1.5e-323"},
    {0x7fe0000000000000ULL, "8.98846567431158e+307"},
    {0x0010000000000000ULL, "2.2250738585072014e-308"},
    {0x43e0000000000000ULL, "9.223372036854776e+18"},
    {0x43f0000000000000ULL, "1.8446744073709552e+19"},
    {0x4341c37937e08001ULL, "1.0000000000000002e+16"},
    {0x4341c37937e08002ULL, "1.0000000000000004e+16"},
    {0x3f0a36e2eb1c432dULL, "5e-05"},
    {0x0000000000000001ULL, "5e-324"},
    {0x3ff199999999999aULL, "1.1"},
    {0x4005666666666666ULL, "2.675"},
    {0x444b1ae4d6e2ef50ULL, "1e+21"},
    {0x3ddb7cdfd9d7bdbbULL, "1e-10"},
    {0x423cbbf2e1f20000ULL, "123412341234.0"},
    {0xbb91433a6aa79987ULL, "-9.1387497028769e-22"},
    {0xd1f6f86c029a7245ULL, "-7.139820454309632e+86"},
    {0xcd8778e7d340bbcdULL, "-3.089900467300506e+65"},
    {0xdaea58ba4c73a942ULL, "-9.131299887434701e+129"},
    {0xee8971105e503a67ULL, "-2.942877356480083e+224"},
    {0x452ec40a3193ca54ULL, "1.8596773229471727e+25"},
    {0x6facaa5090e5e945ULL, "8.692067227002291e+229"},
    {0x5f811cb929645f8bULL, "1.1202983176732331e+152"},
    {0xdfc9e3b11fcff454ULL, "-2.71187804877673e+153"},
    {0x42d6cb5c6ed4e94bULL, "100250739757989.17"},
    {0xa091250e8fe46024ULL, "-8.183770430730414e-152"},
    {0x9c9cea0c2ca1c789ULL, "-7.481942688750341e-171"},
    {0x2fd2b7a48d9fe5b9ULL, "2.525722336173709e-78"},
    {0xbcf74d7a5adad121ULL, "-5.1742273216317384e-15"},
    {0xbb9d58e4f543bbcfULL, "-1.5536301412264183e-21"},
    {0x87f26aee175f0cd2ULL, "-2.1789094907487126e-270"},
    {0xbc428d42fa882692ULL, "-2.011390540120253e-18"},
    {0x95c5fb986980a81fULL, "-8.764271883973625e-204"},
    {0x2aa4857e8101e89aULL, "2.863253393402251e-103"},
    {0x34a9af4125ece845ULL, "5.2374923668024025e-55"},
    {0x13ed748bb80e3b0dULL, "1.0936941514836716e-212"},
    {0xd64a3ce030a1f6d5ULL, "-4.8141078806962144e+107"},
    {0x527122dc57708107ULL, "1.3635548534927665e+89"},
    {0x7576714a06057c82ULL, "6.739508595758605e+257"},
    {0x06e0f45856eaa301ULL, "1.5303059611217572e-275"},
    {0x82bde024f7acee22ULL, "-1.8272601399104736e-295"},
    {0xb0d26ee6fa928906ULL, "-1.6301294128168097e-73"},
    {0x6a5ccc2cbe99854aULL, "2.2572140005785964e+204"},
    {0x01b5577d00e266d0ULL, "1.9917479904700448e-300"},
    {0xa9f559fcf0b37868ULL, "-1.4546223495953267e-106"},
    {0x29ef41d0deea959eULL, "1.0647315861075762e-106"},
    {0x94820a06c555663fULL, "-6.85882119867777e-210"},
    {0x495cfa4f2dcaabd5ULL, "2.5849035208654928e+45"},
    {0xa70ce1b51978cec0ULL, "-1.3980865026926386e-120"},
    {0x1b1bcf726a1eccdaULL, "4.2893241473530543e-178"},
    {0xae711399e2b2848bULL, "-5.493913207906451e-85"},
    {0x2e80dbd593fd7234ULL, "1.084765896058589e-84"},
    {0x600027e8bc90a6ecULL, "2.7076892184663095e+154"},
    {0xf5cdb9413b8d0e76ULL, "-2.8563304288860733e+259"},
    {0x9893588c860a7da1ULL, "-2.713760756235414e-190"},
    {0xe9c329a8b59a5969ULL, "-2.9336244025820534e+201"},
    {0x5473da68d3285151ULL, "6.784975464656184e+98"},
    {0x0a4de3e4ce9fb6a8ULL, "4.860072067895261e-259"},
    {0x1eab5cd83b788b66ULL, "6.082062402788562e-161"},
    {0x7fcd33d2df8960adULL, "4.10132964629943e+307"},
    {0xbcb8a0843764b52eULL, "-3.417685226750283e-16"},
    {0xc18c6da1cd4944b6ULL, "-59618361.66077559"},
    {0xab721ab08e1a11f0ULL, "-2.0692936927247466e-99"},
    {0x41fad2962f927291ULL, "7200137977.15297"},
    {0x6f05571896af0deaULL, "6.319251251549195e+226"},
    {0xea80db0684ab5616ULL, "-1.056940311011457e+205"},
    {0x213f191ff56ae7eaULL, "1.5200456102231995e-148"},
    {0xfad2b6c50aa25068ULL, "-4.348117394333563e+283"},
    {0x4d23bed52a04f77aULL, "4.061401464333647e+63"},
    {0xdd533730fbb91133ULL, "-3.661269769061302e+141"},
    {0x026530cdd50b612bULL, "4.0502177924977255e-297"},
    {0xf70ae8c026784184ULL, "-2.711481795810649e+265"},
    {0x5987baf13aa725cbULL, "1.9608773770896137e+123"},
    {0x578b24268a04f74fULL, "5.22176877534521e+113"},
    {0x62d1c049282fe557ULL, "1.0467507166491465e+168"},
    {0x03499f8452e1fbb0ULL, "8.023911259315103e-293"},
    {0x0f967bcc0ca02f4dULL, "1.4142587738176482e-233"},
    {0x71f2f9c4b6307badULL, "7.908122518568666e+240"},
    {0x635a8ce2141cb03eULL, "4.007997109135255e+170"},
    {0xcc905983fe9e6246ULL, "-6.568226815218018e+60"},
    {0x2df2b7c8ebaa7701ULL, "2.3523319674493097e-87"},
    {0x02ff5f56c9f0b072ULL, "3.0700980282040266e-294"},
    {0xb65b9045c5bc647aULL, "-7.543902500927032e-47"},
    {0x372139f35e2503ddULL, "3.862285675622193e-43"},
    {0x8334bb82adbfb00eULL, "-3.246198895799575e-293"},
    {0x1f1af1fac2e1dac4ULL, "7.666272183892173e-159"},
    {0x9f3180427b142708ULL, "-1.9917072854191663e-158"},
    {0x03898f4e0fc01b11ULL, "1.2806528033449365e-291"},
    {0x7de6002da0485922ULL, "2.8776776539821043e+298"},
    {0xc5a0ff6d53650fc7ULL, "-2.63027625872595e+27"},
    {0xf74fd9ec9c2ecc16ULL, "-5.135147086239563e+266"},
    {0xec2fc96a6bbb69f5ULL, "-1.3376222657141875e+213"},
    {0x8cc05570f3d90ebdULL, "-2.920112608168592e-247"},
    {0x5d41eb25339bb47eULL, "1.7070668040312532e+141"},
    {0xa9b04e95c4d3c54cULL, "-6.943443525783314e-108"},
    {0x1e8fcb74b2d4f32aULL, "1.7668014370103972e-161"},
    {0x265015788e7ae9afULL, "3.801652100133177e-124"},
    {0x7eb14f84147de9b0ULL, "1.8548466680109644e+302"},
    {0xe47b342b2a3a4667ULL, "-1.0765316368766168e+176"},
    {0x55e6fa5af79fcaa0ULL, "6.587487223251784e+105"},
    {0x340856933b0b6398ULL, "4.8466205199672995e-58"},
    {0x29aa57a529ddf4c7ULL, "5.608236388575786e-108"},
    {0x266fdf5c49cdbec7ULL, "1.5067040208393873e-123"},
    {0x173148758980bb2cULL, "5.780202677294167e-197"},
    {0xb21ab98f85056138ULL, "-2.4781990961863778e-67"},
    {0x2583bf9000da5a80ULL, "5.697985911077337e-128"},
    {0xa85dffca00d0bac4ULL, "-3.0454465617270388e-114"},
    {0xe2cce77b7efe369aULL, "-8.522146168608318e+167"},
    {0xd5d3cee22f529fb3ULL, "-2.839371183697284e+105"},
    {0xef0e1c779b852cbcULL, "-8.916508270791997e+226"},
    {0xd9c1aa99cc6812b6ULL, "-2.335697060103056e+124"},
    {0x43a7c488188b2694ULL, "8.563216986513925e+17"},
    {0xc00187a68152a2c5ULL, "-2.1912355521529627"},
    {0x10ed026067f8ab1fULL, "3.826751713004138e-227"},
    {0xc05f69afca5b2579ULL, "-125.65135439778341"},
    {0x75fb4415f46d4e1dULL, "2.0961244526611627e+260"},
    {0x2e93761b6aae0b74ULL, "2.504461249650085e-84"},
    {0xeb3f4d0a3e46cc1cULL, "-4.0197066737830738e+208"},
    {0x2f2faab7e0e3a17dULL, "2.0864899591815364e-81"},
    {0x5f77442206fb8a80ULL, "7.615917795541164e+151"},
    {0x2d0bc102549968e7ULL, "1.0644272998136749e-91"},
    {0x2d87bab8650ffbcfULL, "2.3297945069853475e-89"},
    {0x92573b502d9059c6ULL, "-2.5707747585340037e-220"},
    {0xd2cf5d1dae103641ULL, "-7.9861318468407615e+90"},
    {0xe4b1455b84ad1903ULL, "-1.0935361238560972e+177"},
    {0xf5ce60113fba91d2ULL, "-2.9189478353657627e+259"},
    {0x836170c269cacc7bULL, "-2.184601947794285e-292"},
    {0x6ae36852b11f43a4ULL, "7.788555104309424e+206"},
    {0x1ec1db445330d7c5ULL, "1.5876286696466443e-160"},
    {0xa4cc1ad011552ddfULL, "-1.9797549370939524e-131"},
    {0xbe5a445275e38718ULL, "-2.4462941333113226e-08"},
    {0xa0ce08bb31efbef6ULL, "-1.1469035461866962e-150"},
    {0x923c73249f0e5690ULL, "-7.870495342264318e-221"},
    {0xbfc8436533af061bULL, "-0.1895567419397118"},
    {0x87ed24ba22910c37ULL, "-1.7239120105766284e-270"},
    {0x3bb5a287e4daa2e7ULL, "4.581365329389004e-21"},
    {0x915f892f548dc214ULL, "-5.324859891907138e-225"},
    {0x2017a69d4ad48431ULL, "4.4099001331323714e-154"},
    {0x82a4e5f289cb56b8ULL, "-6.390926442744239e-296"},
    {0xc5795f45b1817b72ULL, "-4.9076889475551325e+26"},
    {0xe4384bebabc67790ULL, "-6.009279127398821e+174"},
    {0x0f27e5e8cc638bb9ULL, "1.1744011760615876e-235"},
    {0xc6f736f0428b2d1bULL, "-7.533569576135374e+33"},
    {0x0b4634e66d47be83ULL, "2.366336730663633e-254"},
    {0xcc9a502c5d2c805cULL, "-1.0570911272676434e+61"},
    {0x8930dd5b84459a03ULL, "-2.092097213861204e-264"},
    {0x1b89788992f4b20dULL, "5.0284712345844046e-176"},
    {0xc24281d3a11908e0ULL, "-158975083058.06934"},
    {0x27fafa5d11656edbULL, "4.279284421110761e-116"},
    {0xe15e16c15f081999ULL, "-1.0575571389321733e+161"},
    {0xa282bbfab56471c8ULL, "-1.920389828419362e-142"},
    {0x4661d077090b3597ULL, "1.1291164397327534e+31"},
    {0x71afc8adbf0976bdULL, "4.1393654619028486e+239"},
    {0x5e622929af973c3dULL, "4.535474169396479e+146"},
    {0x4ea838f266dbcc44ULL, "8.35885986122428e+70"},
    {0x9c4172e672fce34dULL, "-1.4109732383377358e-172"},
    {0x4fd550c343abd549ULL, "3.856506100152423e+76"},
    {0x7e14fe2ebcba851bULL, "2.196686888664238e+299"},
    {0x0ce4ad117afbd9beULL, "1.4785672797817292e-246"},
    {0x72101a3f43df86aeULL, "2.684297202618864e+241"},
    {0x383a03010783a82eULL, "7.644161727227829e-38"},
    {0x22d57caa58569a9bULL, "7.048185107514365e-141"},
    {0x00855e6bebc6222bULL, "3.8037787569860196e-306"},
    {0xf8373eebad17d536ULL, "-1.2280620365056162e+271"},
    {0xcdf91845a0277bbfULL, "-4.228467524939709e+67"},
    {0x1548e270ef12d18eULL, "3.8754534207967105e-206"},
    {0x1c6e7bd007d5ba92ULL, "9.860055331187423e-172"},
    {0xdf44c5b49a3a9565ULL, "-8.499476156432417e+150"},
    {0xdcea2252301d8a84ULL, "-3.8902275317590994e+139"},
    {0x7d933dcd659e23c2ULL, "7.864891880506888e+296"},
    {0x45caa2832e8cc39eULL, "1.64861514536703e+28"},
    {0x3563c1a6596091d6ULL, "1.650135242295896e-51"},
    {0x4cd68a77e6c0bc68ULL, "1.4488726794570176e+62"},
    {0x50b7da40b9b34ee7ULL, "7.070557730096088e+80"},
    {0x63663481d8a69224ULL, "6.704098944376572e+170"},
    {0x9de9feb51352e69dULL, "-1.4106568273896785e-164"},
    {0x5e4fd35a4d04125fULL, "1.987030202947863e+146"},
    {0xdd6f3010c8bec05cULL, "-1.1884806202564742e+142"},
    {0x6b547c700a5b0380ULL, "1.052339737256814e+209"},
    {0x29183eca3091a72bULL, "1.0081581771513235e-110"},
    {0x249176da14f4913eULL, "1.5377730068612945e-132"},
    {0x4e779665d14b5d87ULL, "1.0174680038527165e+70"},
    {0x553481243b747bc0ULL, "2.8702971552045567e+102"},
    {0x336e875c6c9e62eaULL, "5.936903211250274e-61"},
    {0x265ffc9c038c130bULL, "7.560525576851395e-124"},
    {0xf3a30d701d1940b1ULL, "-1.0657079822298294e+249"},
    {0x0812193f83954252ULL, "8.564647336858285e-270"},
    {0xff45ddffca9353f8ULL, "-1.199660861908444e+305"},
    {0x64631da1574d8811ULL, "3.78232353600283e+175"},
    {0xddd1ddbf51c0d297ULL, "-8.714654011180695e+143"},
    {0x3dc9a0750a72aa2dULL, "4.6614852000974183e-11"},
    {0x7c11330819806fe8ULL, "4.190324797402743e+289"},
    {0x941164e42605125cULL, "-5.166841989571824e-212"},
    {0x4257f1be34cd4fcdULL, "411360088885.2469"},
    {0x88488c9c91e19cb8ULL, "-9.293779367173671e-269"},
    {0x288bfbe35be070a1ULL, "2.272691422414491e-113"},
    {0xbdc20b73fa4c529bULL, "-3.282318799333305e-11"},
    {0x09bb367048bb6e3aULL, "8.642007324033961e-262"},
    {0xdf176b4fdb35227eULL, "-1.1978148065914475e+150"},
    {0x180f72c1177e844cULL, "8.616073468766249e-193"},
    {0x35136f4187111aa9ULL, "5.07266562378839e-53"},
    {0x811348f18caa597dULL, "-1.757610246382687e-303"},
    {0xf6198f9ba8448d68ULL, "-7.860199592594966e+260"},
    {0xfb105a9568feb082ULL, "-6.07961001126951e+284"},
    {0x03e50e5486242766ULL, "6.751955737742985e-290"},
    {0x851e1ad7c71eb812ULL, "-5.0612832370115015e-284"},
    {0x96a4087e26cf6137ULL, "-1.3085871959171621e-199"},
    {0x534aad5888183610ULL, "1.738952892961528e+93"},
    {0xc334629e968c80b9ULL, "-5737932804358329.0"},
    {0xe6665e8ac81d4cd4ULL, "-1.9009900532969823e+185"},
    {0x751d0db629e8fa09ULL, "1.3632506062524258e+256"},
    {0x708a8d146a2254b2ULL, "1.319073659764081e+234"},
    {0x5f2b18db064a2c49ULL, "2.7718552067747727e+150"},
    {0x0700937ba99d4575ULL, "5.984618553375296e-275"},
    {0x637068fcde372e88ULL, "9.908981234399216e+170"},
    {0xc0724f1e4d5d80e5ULL, "-292.944898"},
    {0x40547456d5cfaaceULL, "81.8178"},
    {0xc08e2f624dd2f1aaULL, "-965.923"},
    {0xc05f2d70a3d70a3dULL, "-124.71"},
    {0xc07758e4e054690eULL, "-373.555878"},
    {0xc07930fdf3b645a2ULL, "-403.062"},
    {0x4060600000000000ULL, "131.0"},
    {0x4061909374bc6a7fULL, "140.518"},
    {0x408c400000000000ULL, "904.0"},
    {0x406cc00000000000ULL, "230.0"},
    {0x408b813333333333ULL, "880.15"},
    {0x4084f00346dc5d64ULL, "670.0016"},
    {0xc08938b645a1cac1ULL, "-807.089"},
    {0xc04ee72b020c49baULL, "-61.806"},
    {0xc0817f3333333333ULL, "-559.9"},
    {0xc0754f4a66559f6fULL, "-340.955664"},
    {0xc0851dea161e4f76ULL, "-675.7393"},
    {0x4055a355ef1fddecULL, "86.55212"},
    {0x408eaa6666666666ULL, "981.3"},
    {0x408901563886594bULL, "800.1671"},
    {0x406298068db8bac7ULL, "148.7508"},
    {0x40717b3333333333ULL, "279.7"},
    {0x407598624dd2f1aaULL, "345.524"},
    {0x4085d80000000000ULL, "699.0"},
    {0x4072d00000000000ULL, "301.0"},
    {0x4081c4cd86ec17ecULL, "568.600355"},
    {0xc08ae4043dccea29ULL, "-860.502071"},
    {0xc0879b0a3d70a3d7ULL, "-755.38"},
    {0x4060b66666666666ULL, "133.7"},
    {0x408e09999999999aULL, "961.2"},
    {0xc012a324c8366517ULL, "-4.65932"},
    {0x4077a10d3ae685dbULL, "378.06573"},
    {0xc0681ccccccccccdULL, "-192.9"},
    {0x4072d5a71ac14c66ULL, "301.353297"},
    {0x4085118000000000ULL, "674.1875"},
    {0xc088780000000000ULL, "-783.0"},
    {0x4039c119ce075f70ULL, "25.7543"},
    {0x4089a43d70a3d70aULL, "820.53"},
    {0xc08052ac083126e9ULL, "-522.334"},
    {0x40771d1eb851eb85ULL, "369.82"},
    {0xc0513851eb851eb8ULL, "-68.88"},
    {0xc07f58f5c28f5c29ULL, "-501.56"},
    {0xc062e00000000000ULL, "-151.0"},
    {0xc0848c9f9f01b867ULL, "-657.57794"},
    {0x406d36f9db22d0e5ULL, "233.718"},
    {0xc07db8dfce3150dbULL, "-475.55464"},
    {0x408155999999999aULL, "554.7"},
    {0x407023a161e4f766ULL, "258.2269"},
    {0x407d0570a3d70a3dULL, "464.34"},
    {0xc08dc3eb851eb852ULL, "-952.49"},
    {0x4088ea1f7a4e7ab7ULL, "797.26537"},
    {0x4070662bb341e14cULL, "262.385669"},
    {0x406f600000000000ULL, "251.0"},
    {0x407c640000000000ULL, "454.25"},
    {0xc081ca16bb98c7e3ULL, "-569.2611"},
    {0x408e600000000000ULL, "972.0"},
    {0xc0897b81abd1aa82ULL, "-815.438316"},
    {0xc0827f8be0ded289ULL, "-591.9433"},
    {0xc08ee26666666666ULL, "-988.3"},
    {0x405fbb32f4491299ULL, "126.924985"},
    {0x0000000000000000ULL, "0.0"},
    {0x2b50000000000000ULL, "4.5719495651291e-100"},
    {0x0000000000000002ULL, "1e-323"},
    {0x2bc0000000000000ULL, "5.852095443365248e-98"},
    {0x000000000134d761ULL, "1e-316"},
    {0x2c30000000000000ULL, "7.490682167507517e-96"},
    {0x0000b8157268fdafULL, "1e-309"},
    {0x2ca0000000000000ULL, "9.588073174409622e-94"},
    {0x013b6e3d22865634ULL, "1e-302"},
    {0x2d10000000000000ULL, "1.2272733663244316e-91"},
    {0x02b059949b708f29ULL, "1e-295"},
    {0x2d80000000000000ULL, "1.5709099088952725e-89"},
    {0x04237d99cc506d59ULL, "1e-288"},
    {0x2df0000000000000ULL, "2.010764683385949e-87"},
    {0x05973c115074bc6aULL, "1e-281"},
    {0x2e60000000000000ULL, "2.5737787947340145e-85"},
    {0x070bb2a62fe638ffULL, "1e-274"},
    {0x2ed0000000000000ULL, "3.2944368572595385e-83"},
    {0x0880825b3323dab0ULL, "1e-267"},
    {0x2f40000000000000ULL, "4.2168791772922093e-81"},
    {0x09f3ae3591f5b4d9ULL, "1e-260"},
    {0x2fb0000000000000ULL, "5.397605346934028e-79"},
    {0x0b677603725064a8ULL, "1e-253"},
    {0x3020000000000000ULL, "6.908934844075556e-77"},
    {0x0cdbf7b9d9cce00dULL, "1e-246"},
    {0x3090000000000000ULL, "8.843436600416711e-75"},
    {0x0e50ab877c142ffaULL, "1e-239"},
    {0x3100000000000000ULL, "1.131959884853339e-72"},
    {0x0fc3df4a91a4dcb5ULL, "1e-232"},
    {0x3170000000000000ULL, "1.448908652612274e-70"},
    {0x1137b08617a104eeULL, "1e-225"},
    {0x31e0000000000000ULL, "1.8546030753437107e-68"},
    {0x12ac3d79c9b8fe2eULL, "1e-218"},
    {0x3250000000000000ULL, "2.3738919364399497e-66"},
    {0x1420d51a73deee2dULL, "1e-211"},
    {0x32c0000000000000ULL, "3.0385816786431356e-64"},
    {0x159410d9f9b2f7f3ULL, "1e-204"},
    {0x3330000000000000ULL, "3.8893845486632136e-62"},
    {0x1707eb9aa8cf1ddeULL, "1e-197"},
    {0x33a0000000000000ULL, "4.9784122222889134e-60"},
    {0x187c83e7ad4e6efeULL, "1e-190"},
    {0x3410000000000000ULL, "6.372367644529809e-58"},
    {0x19f0ff151a99f483ULL, "1e-183"},
    {0x3480000000000000ULL, "8.156630584998156e-56"},
    {0x1b6442e4fb671960ULL, "1e-176"},
    {0x34f0000000000000ULL, "1.044048714879764e-53"},
    {0x1cd8274291c6065bULL, "1e-169"},
    {0x3560000000000000ULL, "1.3363823550460978e-51"},
    {0x1e4ccb0536608d61ULL, "1e-162"},
    {0x35d0000000000000ULL, "1.7105694144590052e-49"},
    {0x1fc1297872d9cbb5ULL, "1e-155"},
    {0x3640000000000000ULL, "2.1895288505075267e-47"},
    {0x2134756ccb01abfbULL, "1e-148"},
    {0x36b0000000000000ULL, "2.802596928649634e-45"},
    {0x22a8637f41fcad32ULL, "1e-141"},
    {0x3720000000000000ULL, "3.587324068671532e-43"},
    {0x241d12d41afca3c3ULL, "1e-134"},
    {0x3790000000000000ULL, "4.591774807899561e-41"},
    {0x2591544581b7dec2ULL, "1e-127"},
    {0x3800000000000000ULL, "5.877471754111438e-39"},
    {0x2704a8729fc3ddb7ULL, "1e-120"},
    {0x3870000000000000ULL, "7.52316384526264e-37"},
    {0x2878a0522c7e7095ULL, "1e-113"},
    {0x38e0000000000000ULL, "9.62964972193618e-35"},
    {0x29ed5b561574765bULL, "1e-106"},
    {0x3950000000000000ULL, "1.232595164407831e-32"},
    {0x2b617f7d4ed8c33eULL, "1e-99"},
    {0x39c0000000000000ULL, "1.5777218104420236e-30"},
    {0x2cd4dbf7b3f71cb7ULL, "1e-92"},
    {0x3a30000000000000ULL, "2.0194839173657902e-28"},
    {0x2e48ddbcc7f40ba6ULL, "1e-85"},
    {0x3aa0000000000000ULL, "2.5849394142282115e-26"},
    {0x2fbda48ce468e7c7ULL, "1e-78"},
    {0x3b10000000000000ULL, "3.308722450212111e-24"},
    {0x3131ab20e472914aULL, "1e-71"},
    {0x3b80000000000000ULL, "4.235164736271502e-22"},
    {0x32a50ffd44f4a73dULL, "1e-64"},
    {0x3bf0000000000000ULL, "5.421010862427522e-20"},
    {0x34191bc08eac9a41ULL, "1e-57"},
    {0x3c60000000000000ULL, "6.938893903907228e-18"},
    {0x358dee7a4ad4b81fULL, "1e-50"},
    {0x3cd0000000000000ULL, "8.881784197001252e-16"},
    {0x3701d7314f534b61ULL, "1e-43"},
    {0x3d40000000000000ULL, "1.1368683772161603e-13"},
    {0x38754484932d2e72ULL, "1e-36"},
    {0x3db0000000000000ULL, "1.4551915228366852e-11"},
    {0x39e95a5efea6b347ULL, "1e-29"},
    {0x3e20000000000000ULL, "1.862645149230957e-09"},
    {0x3b5e392010175ee6ULL, "1e-22"},
    {0x3e90000000000000ULL, "2.384185791015625e-07"},
    {0x3cd203af9ee75616ULL, "1e-15"},
    {0x3f00000000000000ULL, "3.0517578125e-05"},
    {0x3e45798ee2308c3aULL, "1e-08"},
    {0x3f70000000000000ULL, "0.00390625"},
    {0x3fb999999999999aULL, "0.1"},
    {0x3fe0000000000000ULL, "0.5"},
    {0x412e848000000000ULL, "1000000.0"},
    {0x4050000000000000ULL, "64.0"},
    {0x42a2309ce5400000ULL, "10000000000000.0"},
    {0x40c0000000000000ULL, "8192.0"},
    {0x4415af1d78b58c40ULL, "1e+20"},
    {0x4130000000000000ULL, "1048576.0"},
    {0x4589d971e4fe8402ULL, "1e+27"},
    {0x41a0000000000000ULL, "134217728.0"},
    {0x46fed09bead87c03ULL, "1e+34"},
    {0x4210000000000000ULL, "17179869184.0"},
    {0x48725dfa371a19e7ULL, "1e+41"},
    {0x4280000000000000ULL, "2199023255552.0"},
    {0x49e5e531a0a1c873ULL, "1e+48"},
    {0x42f0000000000000ULL, "281474976710656.0"},
    {0x4b5a19e96a19fc41ULL, "1e+55"},
    {0x4360000000000000ULL, "3.602879701896397e+16"},
    {0x4ccf1d75a5709c1bULL, "1e+62"},
    {0x43d0000000000000ULL, "4.611686018427388e+18"},
    {0x4e428bc8abe49f64ULL, "1e+69"},
    {0x4440000000000000ULL, "5.902958103587057e+20"},
    {0x4fb61bcca7119916ULL, "1e+76"},
    {0x44b0000000000000ULL, "7.555786372591432e+22"},
    {0x512a5b01b605557bULL, "1e+83"},
    {0x4520000000000000ULL, "9.671406556917033e+24"},
    {0x529f6b0f092959c7ULL, "1e+90"},
    {0x4590000000000000ULL, "1.2379400392853803e+27"},
    {0x5412ba095dc7701eULL, "1e+97"},
    {0x4600000000000000ULL, "1.5845632502852868e+29"},
    {0x558652efdc6018a2ULL, "1e+104"},
    {0x4670000000000000ULL, "2.028240960365167e+31"},
    {0x56fa9cbc59b83a3dULL, "1e+111"},
    {0x46e0000000000000ULL, "2.596148429267414e+33"},
    {0x586fb969f40042c5ULL, "1e+118"},
    {0x4750000000000000ULL, "3.32306998946229e+35"},
    {0x59e2e8bd69aa19ccULL, "1e+125"},
    {0x47c0000000000000ULL, "4.253529586511731e+37"},
    {0x5b568a9c942f3ba3ULL, "1e+132"},
    {0x4830000000000000ULL, "5.444517870735016e+39"},
    {0x5ccadf1aea12525bULL, "1e+139"},
    {0x48a0000000000000ULL, "6.96898287454082e+41"},
    {0x5e400444244d7cabULL, "1e+146"},
    {0x4910000000000000ULL, "8.92029807941225e+43"},
    {0x5fb317e5ef3ab327ULL, "1e+153"},
    {0x4980000000000000ULL, "1.141798154164768e+46"},
    {0x6126c2d4256ffcc3ULL, "1e+160"},
    {0x49f0000000000000ULL, "1.461501637330903e+48"},
    {0x629b221effe500d4ULL, "1e+167"},
    {0x4a60000000000000ULL, "1.8707220957835557e+50"},
    {0x64102c35f729689fULL, "1e+174"},
    {0x4ad0000000000000ULL, "2.3945242826029513e+52"},
    {0x6583478410f4c7ecULL, "1e+181"},
    {0x4b40000000000000ULL, "3.064991081731778e+54"},
    {0x66f6fb97ea6a9d38ULL, "1e+188"},
    {0x4bb0000000000000ULL, "3.9231885846166755e+56"},
    {0x686b65ca37fd3a0dULL, "1e+195"},
    {0x4c20000000000000ULL, "5.021681388309345e+58"},
    {0x69e0548b68a044d6ULL, "1e+202"},
    {0x4c90000000000000ULL, "6.427752177035961e+60"},
    {0x6b537798f4285630ULL, "1e+209"},
    {0x4d00000000000000ULL, "8.22752278660603e+62"},
    {0x6cc734e940c6f9c6ULL, "1e+216"},
    {0x4d70000000000000ULL, "1.0531229166855719e+65"},
    {0x6e3baa1e332d728fULL, "1e+223"},
    {0x4de0000000000000ULL, "1.347997333357532e+67"},
    {0x6fb07d457124123dULL, "1e+230"},
    {0x4e50000000000000ULL, "1.725436586697641e+69"},
    {0x7123a825c100dd11ULL, "1e+237"},
    {0x4ec0000000000000ULL, "2.2085588309729804e+71"},
    {0x72976ec98994f489ULL, "1e+244"},
    {0x4f30000000000000ULL, "2.826955303645415e+73"},
    {0x740bef1c9657a686ULL, "1e+251"},
    {0x4fa0000000000000ULL, "3.618502788666131e+75"},
    {0x7580a6650b926d67ULL, "1e+258"},
    {0x5010000000000000ULL, "4.631683569492648e+77"},
    {0x76f3d92ba28c7d15ULL, "1e+265"},
    {0x5080000000000000ULL, "5.928554968950589e+79"},
    {0x7867a93a2954f3b8ULL, "1e+272"},
    {0x50f0000000000000ULL, "7.588550360256754e+81"},
    {0x79dc34c70a777a4dULL, "1e+279"},
    {0x5160000000000000ULL, "9.713344461128645e+83"},
    {0x7b50cfeb353a97dbULL, "1e+286"},
    {0x51d0000000000000ULL, "1.2433080910244666e+86"},
    {0x7cc40aabc6c32a38ULL, "1e+293"},
    {0x5240000000000000ULL, "1.5914343565113173e+88"},
    {0x7e37e43c8800759cULL, "1e+300"},
    {0x52b0000000000000ULL, "2.037035976334486e+90"},
    {0x7fac7b1f3cac7433ULL, "1e+307"},
    {0x5320000000000000ULL, "2.6074060497081422e+92"},
};

static double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, 8);
    return d;
}

void test_json__double_matches_python_repr(void)
{
    size_t i;
    char out[ZLMDB_JSON_DOUBLE_MAX];

    for (i = 0; i < sizeof(float_cases) / sizeof(float_cases[0]); i++) {
        size_t n = zlmdb_json_format_double(from_bits(float_cases[i].bits), out);
        CHECK(n == strlen(out));
        CHECK_STR(out, float_cases[i].repr);
    }
}

void test_json__double_specials(void)
{
    char out[ZLMDB_JSON_DOUBLE_MAX];

    zlmdb_json_format_double(NAN, out);
    CHECK_STR(out, "NaN");
    zlmdb_json_format_double(INFINITY, out);
    CHECK_STR(out, "Infinity");
    zlmdb_json_format_double(-INFINITY, out);
    CHECK_STR(out, "-Infinity");
    zlmdb_json_format_double(0.0, out);
    CHECK_STR(out, "0.0");
    zlmdb_json_format_double(-0.0, out);
    CHECK_STR(out, "-0.0");
    zlmdb_json_format_double(1e16, out);
    CHECK_STR(out, "1e+16");
    zlmdb_json_format_double(1e-5, out);
    CHECK_STR(out, "1e-05");
    zlmdb_json_format_double(1.5e300, out);
    CHECK_STR(out, "1.5e+300");
    zlmdb_json_format_double(-2.5, out);
    CHECK_STR(out, "-2.5");
}

/* Property: for random doubles the output reads back exactly, has no more
 * significant digits than the shortest correctly rounded form, and one digit
 * fewer (correctly rounded) does not read back. */
static int significant_digits(const char *s)
{
    char d[40];
    int n = 0, i = 0;
    const char *p;

    for (p = s; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            d[n++] = *p;
    while (i < n && d[i] == '0')
        i++;
    while (n > i && d[n - 1] == '0')
        n--;
    return n - i;
}

void test_json__double_roundtrips_and_is_shortest(void)
{
    uint64_t x = 88172645463325252ULL;
    int i;

    for (i = 0; i < 20000; i++) {
        char out[ZLMDB_JSON_DOUBLE_MAX], b[64];
        double d;
        int p, sig, shortest = 17;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        d = from_bits(i % 2 ? x : (x >> 12) | 0x3ff0000000000000ULL);
        if (!isfinite(d) || d == 0)
            continue;
        CHECK(zlmdb_json_format_double(d, out) < ZLMDB_JSON_DOUBLE_MAX);
        CHECK(strtod(out, NULL) == d);
        for (p = 1; p <= 17; p++) {
            snprintf(b, sizeof(b), "%.*e", p - 1, d);
            if (strtod(b, NULL) == d) {
                shortest = p;
                break;
            }
        }
        sig = significant_digits(out);
        CHECK(sig <= shortest);
        if (sig > 1) {
            snprintf(b, sizeof(b), "%.*e", sig - 2, d);
            CHECK(strtod(b, NULL) != d);
        }
    }
}

/* Expected strings from Python's repr() again, at the edges between the
 * formatter's exact-integer path (1e-14 <= |v| < 1e16) and its general
 * search, at the positional/scientific switches, and at powers of two,
 * whose rounding interval is lopsided. */
static const float_case float_edges[] = {
    {0x3d06849b86a12b9bULL, "1e-14"},
    {0xbd06849b86a12b9bULL, "-1e-14"},
    {0x3d06849b86a12b9aULL, "9.999999999999998e-15"},
    {0x3d06849b86a12b9cULL, "1.0000000000000002e-14"},
    {0x4341c37937e08000ULL, "1e+16"},
    {0x4341c37937e07fffULL, "9999999999999998.0"},
    {0x4341c37937e08001ULL, "1.0000000000000002e+16"},
    {0x4340000000000000ULL, "9007199254740992.0"},
    {0xc340000000000000ULL, "-9007199254740992.0"},
    {0x433fffffffffffffULL, "9007199254740991.0"},
    {0x4340000000000001ULL, "9007199254740994.0"},
    {0x3f1a36e2eb1c432dULL, "0.0001"},
    {0x3f1a36e2eb1c432cULL, "9.999999999999999e-05"},
    {0x3f1a36e2eb1c432eULL, "0.00010000000000000002"},
    {0x3ee4f8b588e368f1ULL, "1e-05"},
    {0x3ee4f8b588e368f0ULL, "9.999999999999999e-06"},
    {0x3ee4f8b588e368f2ULL, "1.0000000000000003e-05"},
    {0x434fffffffffffffULL, "1.8014398509481982e+16"},
    {0x3c30000000000000ULL, "8.673617379884035e-19"},
    {0x3d00000000000000ULL, "7.105427357601002e-15"},
    {0x3d10000000000000ULL, "1.4210854715202004e-14"},
    {0x3eb0000000000000ULL, "9.5367431640625e-07"},
    {0x3fe0000000000000ULL, "0.5"},
    {0x3ff0000000000000ULL, "1.0"},
    {0x4000000000000000ULL, "2.0"},
    {0x4090000000000000ULL, "1024.0"},
    {0x4330000000000000ULL, "4503599627370496.0"},
    {0x43b0000000000000ULL, "1.152921504606847e+18"},
    {0x4630000000000000ULL, "1.2676506002282294e+30"},
    {0x7e70000000000000ULL, "1.0715086071862673e+301"},
    {0x0170000000000000ULL, "9.332636185032189e-302"},
    {0x0010000000000000ULL, "2.2250738585072014e-308"},
    {0x0000000000000001ULL, "5e-324"},
    {0x7fefffffffffffffULL, "1.7976931348623157e+308"},
    {0x3fd3333333333334ULL, "0.30000000000000004"},
    {0x3fd5555555555555ULL, "0.3333333333333333"},
    {0x3dd2533fe68fd3d2ULL, "6.666666666666667e-11"},
    {0x437b69b4ba630f35ULL, "1.2345678901234568e+17"},
    {0x3d415fffe541dec3ULL, "1.2345678901234566e-13"},
    {0x3cf3973563352d9eULL, "4.35e-15"},
    {0x3cfff9be207438cdULL, "7.1e-15"},
    {0x3ceb05876e5b0120ULL, "3e-15"},
};

void test_json__double_path_edges_match_python_repr(void)
{
    size_t i;
    char out[ZLMDB_JSON_DOUBLE_MAX];
    zlmdb_buf b = ZLMDB_BUF_INIT;

    for (i = 0; i < sizeof(float_edges) / sizeof(float_edges[0]); i++) {
        size_t n = zlmdb_json_format_double(from_bits(float_edges[i].bits), out);
        CHECK(n == strlen(out));
        CHECK_STR(out, float_edges[i].repr);
        zlmdb_buf_clear(&b);
        CHECK_OK(zlmdb_json_encode_double(&b, from_bits(float_edges[i].bits)));
        CHECK(b.size == n);
        CHECK_STR((char *)b.ptr, float_edges[i].repr);
    }
    zlmdb_buf_dispose(&b);
}

/* The plain way to escape, one byte at a time, to check the encoder's
 * word-at-a-time scan against. */
static size_t escape_reference(const unsigned char *s, size_t n, char *out)
{
    size_t i, k = 0;

    out[k++] = '"';
    for (i = 0; i < n; i++) {
        unsigned char c = s[i];
        const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                      : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b"
                      : c == '\f' ? "\\f" : NULL;
        if (e != NULL) {
            memcpy(out + k, e, 2);
            k += 2;
        } else if (c < 0x20) {
            k += (size_t)sprintf(out + k, "\\u%04x", c);
        } else {
            out[k++] = (char)c;
        }
    }
    out[k++] = '"';
    return k;
}

void test_json__string_escapes_at_every_position(void)
{
    static const unsigned char specials[] = {'"', '\\', '\n', 0x00, 0x01, 0x1f, 0x20,
                                             0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff};
    unsigned char s[40];
    char want[40 * 6 + 2];
    zlmdb_buf b = ZLMDB_BUF_INIT;
    size_t n, pos, k, wn;

    /* Every length around the 4- and 8-byte word boundaries, with one
     * special byte at every position (and once none at all). */
    for (n = 0; n <= sizeof(s); n++) {
        for (k = 0; k < sizeof(specials); k++) {
            for (pos = 0; pos <= n; pos++) {
                memset(s, 'a', n);
                if (pos < n)
                    s[pos] = specials[k];
                zlmdb_buf_clear(&b);
                CHECK_OK(zlmdb_json_encode_string(&b, (const char *)s, n));
                wn = escape_reference(s, n, want);
                CHECK(b.size == wn);
                CHECK_MEM(b.ptr, want, wn);
            }
        }
    }
    zlmdb_buf_dispose(&b);
}

void test_json__string_escapes_like_python(void)
{
    zlmdb_buf b = ZLMDB_BUF_INIT;

    CHECK_OK(zlmdb_json_encode_string(&b, "a\"b\\c", 5));
    CHECK_STR((char *)b.ptr, "\"a\\\"b\\\\c\"");
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_json_encode_string(&b, "\n\r\t\b\f", 5));
    CHECK_STR((char *)b.ptr, "\"\\n\\r\\t\\b\\f\"");
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_json_encode_string(&b, "\x00\x01\x1f\x7f", 4));
    CHECK(b.size == 21);
    CHECK_MEM(b.ptr, "\"\\u0000\\u0001\\u001f\x7f\"", 21);
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_json_encode_string(&b, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 </x>", 20));
    CHECK_STR((char *)b.ptr, "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 </x>\"");
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_json_encode_string(&b, "", 0));
    CHECK_STR((char *)b.ptr, "\"\"");
    CHECK_RC(zlmdb_json_encode_string(&b, NULL, 3), ZLMDB_EINVAL);
    zlmdb_buf_dispose(&b);
}

void test_json__document_matches_python(void)
{
    /* json.dumps({'a':[1,2.5,None,True,'x'],'b':{}}, separators=(',',':')) */
    zlmdb_buf b = ZLMDB_BUF_INIT;

    CHECK_OK(zlmdb_buf_append(&b, "{", 1));
    CHECK_OK(zlmdb_json_encode_string(&b, "a", 1));
    CHECK_OK(zlmdb_buf_append(&b, ":[", 2));
    CHECK_OK(zlmdb_json_encode_int64(&b, 1));
    CHECK_OK(zlmdb_buf_append(&b, ",", 1));
    CHECK_OK(zlmdb_json_encode_double(&b, 2.5));
    CHECK_OK(zlmdb_buf_append(&b, ",", 1));
    CHECK_OK(zlmdb_json_encode_literal(&b, -1));
    CHECK_OK(zlmdb_buf_append(&b, ",", 1));
    CHECK_OK(zlmdb_json_encode_literal(&b, 1));
    CHECK_OK(zlmdb_buf_append(&b, ",", 1));
    CHECK_OK(zlmdb_json_encode_string(&b, "x", 1));
    CHECK_OK(zlmdb_buf_append(&b, "],", 2));
    CHECK_OK(zlmdb_json_encode_string(&b, "b", 1));
    CHECK_OK(zlmdb_buf_append(&b, ":{}}", 4));
    CHECK_STR((char *)b.ptr, "{\"a\":[1,2.5,null,true,\"x\"],\"b\":{}}");
    zlmdb_buf_dispose(&b);
}

void test_json__integers(void)
{
    zlmdb_buf b = ZLMDB_BUF_INIT;

    CHECK_OK(zlmdb_json_encode_int64(&b, INT64_MIN));
    CHECK_STR((char *)b.ptr, "-9223372036854775808");
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_json_encode_int64(&b, 0));
    CHECK_STR((char *)b.ptr, "0");
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_json_encode_uint64(&b, UINT64_MAX));
    CHECK_STR((char *)b.ptr, "18446744073709551615");
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_json_encode_literal(&b, 0));
    CHECK_STR((char *)b.ptr, "false");
    zlmdb_buf_dispose(&b);
}

/* Render the reader's items as a compact trace, e.g. "[ n:1 s:x ]". */
static int trace(const char *doc, size_t len, size_t depth, char *out, size_t cap)
{
    zlmdb_json_reader r;
    zlmdb_json_item it;
    size_t n = 0;
    int rc;

    out[0] = 0;
    rc = zlmdb_json_reader_init(&r, doc, len, depth);
    if (rc)
        return rc;
    for (;;) {
        rc = zlmdb_json_reader_next(&r, &it);
        if (rc)
            break;
        if (it.kind == ZLMDB_JSON_EOF)
            break;
        switch (it.kind) {
        case ZLMDB_JSON_OBJECT_START: n += (size_t)snprintf(out + n, cap - n, "{ "); break;
        case ZLMDB_JSON_OBJECT_END: n += (size_t)snprintf(out + n, cap - n, "} "); break;
        case ZLMDB_JSON_ARRAY_START: n += (size_t)snprintf(out + n, cap - n, "[ "); break;
        case ZLMDB_JSON_ARRAY_END: n += (size_t)snprintf(out + n, cap - n, "] "); break;
        case ZLMDB_JSON_KEY:
            n += (size_t)snprintf(out + n, cap - n, "k:%.*s ", (int)it.len, it.str);
            break;
        case ZLMDB_JSON_STRING:
            n += (size_t)snprintf(out + n, cap - n, "s%s:%.*s ", it.has_surrogates ? "!" : "",
                                  (int)it.len, it.str);
            break;
        case ZLMDB_JSON_NUMBER:
            n += (size_t)snprintf(out + n, cap - n, "%c:%.*s ", it.is_float ? 'f' : 'i',
                                  (int)it.len, it.str);
            break;
        case ZLMDB_JSON_TRUE: n += (size_t)snprintf(out + n, cap - n, "T "); break;
        case ZLMDB_JSON_FALSE: n += (size_t)snprintf(out + n, cap - n, "F "); break;
        case ZLMDB_JSON_NULL: n += (size_t)snprintf(out + n, cap - n, "N "); break;
        case ZLMDB_JSON_NAN: n += (size_t)snprintf(out + n, cap - n, "nan "); break;
        case ZLMDB_JSON_INFINITY: n += (size_t)snprintf(out + n, cap - n, "inf "); break;
        case ZLMDB_JSON_NEG_INFINITY: n += (size_t)snprintf(out + n, cap - n, "-inf "); break;
        default: break;
        }
        if (n >= cap)
            n = cap - 1;
    }
    if (rc == 0)
        rc = zlmdb_json_reader_finish(&r);
    zlmdb_json_reader_dispose(&r);
    return rc;
}

#define TRACE(doc, want)                                                   \
    do {                                                                   \
        char t_[512];                                                      \
        CHECK_OK(trace(doc, strlen(doc), 0, t_, sizeof(t_)));              \
        CHECK_STR(t_, want);                                               \
    } while (0)

void test_json__reader_yields_items(void)
{
    TRACE(" {\"a\" : [1, -2.5e3, 0.5, true,false,null,\"x\"], \"b\":{}}\n ",
          "{ k:a [ i:1 f:-2.5e3 f:0.5 T F N s:x ] k:b { } } ");
    TRACE("[]", "[ ] ");
    TRACE("0", "i:0 ");
    TRACE("-0", "i:-0 ");
    TRACE("1E+2", "f:1E+2 ");
    TRACE("\"\"", "s: ");
    TRACE("[NaN,Infinity,-Infinity]", "[ nan inf -inf ] ");
    TRACE("[[[]],{}]", "[ [ [ ] ] { } ] ");
    TRACE("{\"k\":{\"k\":1}}", "{ k:k { k:k i:1 } } ");
}

void test_json__reader_unescapes(void)
{
    TRACE("\"a\\n\\t\\\"\\\\\\/\\b\\f\\r\"", "s:a\n\t\"\\/\b\f\r ");
    TRACE("\"\\u00e9\\u20AC\"", "s:\xc3\xa9\xe2\x82\xac ");
    TRACE("\"\\ud83d\\ude00\"", "s:\xf0\x9f\x98\x80 ");
    TRACE("\"h\xc3\xa9\\u0041\"", "s:h\xc3\xa9" "A ");
    /* Lone surrogates, as json.loads keeps them: generalized UTF-8. */
    TRACE("\"\\ud800\\u0041\"", "s!:\xed\xa0\x80" "A ");
    TRACE("\"\\udc00\\ud800\\udc00\"", "s!:\xed\xb0\x80\xf0\x90\x80\x80 ");
    TRACE("\"\\ud800\"", "s!:\xed\xa0\x80 ");
}

void test_json__nul_escape_keeps_length(void)
{
    zlmdb_json_reader r;
    zlmdb_json_item it;

    CHECK_OK(zlmdb_json_reader_init(&r, "\"a\\u0000b\"", 10, 0));
    CHECK_OK(zlmdb_json_reader_next(&r, &it));
    CHECK(it.kind == ZLMDB_JSON_STRING && it.len == 3 && it.done);
    CHECK_MEM(it.str, "a\0b", 3);
    CHECK_OK(zlmdb_json_reader_finish(&r));
    zlmdb_json_reader_dispose(&r);
}

static int validate(const char *doc)
{
    return zlmdb_json_validate(doc, strlen(doc), 0);
}

void test_json__reader_rejects_like_json_loads(void)
{
    static const char *bad[] = {
        "[1,]", "{\"a\":1,}", "{'a':1}", "[1 2]", "01", "1.", "1e", ".5", "+1", "--1",
        "tru", "nul", "True", "nan", "-NaN", "infinity", "[1]x", "{\"a\" 1}", "{1:2}",
        "\"\\x\"", "\"\\u12G4\"", "\"a\tb\"", "\"a\nb\"", "\"\x01\"", "[", "]", "}", "",
        "   ", "\xef\xbb\xbf[]", "\"\xc3\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"", "\"\xff\"", "[1]]", "{\"a\":1}}", "\"abc", "\"\\",
        "\"\\u12", "[1,", "{\"a\"", "{\"a\":", "1 2", "[\"a\":1]", "{,}", "[,1]",
        "{\"a\":1 \"b\":2}",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = validate(bad[i]);
        if (rc != ZLMDB_DECODE && rc != ZLMDB_TRUNCATED) {
            zt_fail(__FILE__, __LINE__, "accepted or wrong rc %d for bad JSON #%zu", rc, i);
            return;
        }
    }
    CHECK_RC(validate("[1"), ZLMDB_TRUNCATED);
    CHECK_RC(validate("[1]x"), ZLMDB_DECODE);
    CHECK_RC(validate("[1] 2"), ZLMDB_DECODE);
    CHECK_RC(validate("\"\xff\""), ZLMDB_DECODE);
    CHECK_OK(validate(" \t\r\n[ ] \n"));
    CHECK_OK(validate("\"\x7f\xe2\x80\xa8\""));
}

void test_json__error_offset_is_reported(void)
{
    zlmdb_json_reader r;
    zlmdb_json_item it;
    int rc;

    CHECK_OK(zlmdb_json_reader_init(&r, "[1, 2, x]", 9, 0));
    do {
        rc = zlmdb_json_reader_next(&r, &it);
    } while (rc == 0);
    CHECK(rc == ZLMDB_DECODE);
    CHECK(r.error_offset == 7);
    CHECK(strstr(zlmdb_error_last(), "offset 7") != NULL);
    /* Sticky. */
    CHECK_RC(zlmdb_json_reader_next(&r, &it), ZLMDB_DECODE);
    zlmdb_json_reader_dispose(&r);
}

void test_json__depth_limit(void)
{
    char doc[2100];
    size_t i;

    for (i = 0; i < 1000; i++) {
        doc[i] = '[';
        doc[2000 - 1 - i] = ']';
    }
    CHECK_OK(zlmdb_json_validate(doc, 2000, 1000));
    CHECK_RC(zlmdb_json_validate(doc, 2000, 999), ZLMDB_TOO_DEEP);
    CHECK_RC(zlmdb_json_validate("[[1]]", 5, 1), ZLMDB_TOO_DEEP);
    CHECK_OK(zlmdb_json_validate("[[1]]", 5, 2));
    CHECK_OK(zlmdb_json_validate("{\"a\":{}}", 8, 2));
    CHECK_RC(zlmdb_json_validate("{\"a\":{}}", 8, 1), ZLMDB_TOO_DEEP);
}

void test_json__truncation_at_every_offset_fails_cleanly(void)
{
    static const char doc[] = "{\"a\":[1,-2.5e-3,\"x\\u00e9\\ud83d\\ude00\",true,false,null,"
                              "NaN,-Infinity,{\"\xc3\xa9\":[[]]}],\"b\":\"\\n\"}";
    size_t n = sizeof(doc) - 1, cut;

    CHECK_OK(zlmdb_json_validate(doc, n, 0));
    for (cut = 0; cut < n; cut++) {
        char *copy = malloc(cut ? cut : 1);
        int rc;
        memcpy(copy, doc, cut);
        rc = zlmdb_json_validate(copy, cut, 0);
        free(copy);
        if (rc != ZLMDB_TRUNCATED && rc != ZLMDB_DECODE) {
            zt_fail(__FILE__, __LINE__, "cut at %zu gave %d", cut, rc);
            return;
        }
    }
}

void test_json__roundtrip_through_encoder(void)
{
    /* Decode a document and re-encode it with the primitives: the output is
     * the compact form json.dumps would give. */
    static const char doc[] = "{ \"k\\u00e9\" : [ 1 , 2.50 , \"a\\u0001\" , null , "
                              "{ } , [ true ] ] }";
    static const char want[] = "{\"k\xc3\xa9\":[1,2.5,\"a\\u0001\",null,{},[true]]}";
    zlmdb_json_reader r;
    zlmdb_json_item it;
    zlmdb_buf b = ZLMDB_BUF_INIT;
    int need_comma = 0;

    CHECK_OK(zlmdb_json_reader_init(&r, doc, sizeof(doc) - 1, 0));
    for (;;) {
        CHECK_OK(zlmdb_json_reader_next(&r, &it));
        if (it.kind == ZLMDB_JSON_EOF)
            break;
        if (need_comma && it.kind != ZLMDB_JSON_ARRAY_END && it.kind != ZLMDB_JSON_OBJECT_END)
            CHECK_OK(zlmdb_buf_append(&b, ",", 1));
        need_comma = 1;
        switch (it.kind) {
        case ZLMDB_JSON_OBJECT_START: zlmdb_buf_append(&b, "{", 1); need_comma = 0; break;
        case ZLMDB_JSON_ARRAY_START: zlmdb_buf_append(&b, "[", 1); need_comma = 0; break;
        case ZLMDB_JSON_OBJECT_END: zlmdb_buf_append(&b, "}", 1); break;
        case ZLMDB_JSON_ARRAY_END: zlmdb_buf_append(&b, "]", 1); break;
        case ZLMDB_JSON_KEY:
            zlmdb_json_encode_string(&b, it.str, it.len);
            zlmdb_buf_append(&b, ":", 1);
            need_comma = 0;
            break;
        case ZLMDB_JSON_STRING: zlmdb_json_encode_string(&b, it.str, it.len); break;
        case ZLMDB_JSON_NUMBER:
            if (it.is_float)
                zlmdb_json_encode_double(&b, strtod(it.str, NULL));
            else
                zlmdb_json_encode_int64(&b, strtoll(it.str, NULL, 10));
            break;
        case ZLMDB_JSON_TRUE: zlmdb_json_encode_literal(&b, 1); break;
        case ZLMDB_JSON_NULL: zlmdb_json_encode_literal(&b, -1); break;
        default: break;
        }
    }
    CHECK_STR((char *)b.ptr, want);
    zlmdb_buf_dispose(&b);
    zlmdb_json_reader_dispose(&r);
}

static int allocs_left;
static long live_blocks;

static void *fail_malloc(size_t size, void *payload)
{
    (void)payload;
    if (allocs_left-- <= 0)
        return NULL;
    live_blocks++;
    return malloc(size);
}

static void *fail_realloc(void *ptr, size_t size, void *payload)
{
    (void)payload;
    if (allocs_left-- <= 0)
        return NULL;
    if (ptr == NULL)
        live_blocks++;
    return realloc(ptr, size);
}

static void fail_free(void *ptr, void *payload)
{
    (void)payload;
    if (ptr)
        live_blocks--;
    free(ptr);
}

void test_json__allocation_failures_are_clean(void)
{
    zlmdb_allocator alloc = {ZLMDB_ALLOCATOR_VERSION, fail_malloc, fail_realloc, fail_free,
                             NULL};
    static const char str[] = "\"a\\nlong string with an escape\"";
    char doc[200];
    size_t n = 0, d;
    int k, rc = -1;

    /* 70 nested arrays (the stack grows twice) around an escaped string
     * (the scratch buffer allocates). */
    for (d = 0; d < 70; d++)
        doc[n++] = '[';
    memcpy(doc + n, str, sizeof(str) - 1);
    n += sizeof(str) - 1;
    for (d = 0; d < 70; d++)
        doc[n++] = ']';
    CHECK_OK(zlmdb_set_allocator(&alloc));
    for (k = 0; k < 20; k++) {
        allocs_left = k;
        live_blocks = 0;
        rc = zlmdb_json_validate(doc, n, 0);
        if (live_blocks != 0)
            break;
        if (rc == 0)
            break;
        if (rc != ZLMDB_ENOMEM)
            break;
    }
    zlmdb_set_allocator(NULL);
    CHECK(live_blocks == 0);
    CHECK(rc == 0);
    CHECK(k > 0);
}

/* The reader scans string bodies sixteen and eight bytes at a time: every
 * special byte at every offset of a 41-byte body, each next to a word
 * boundary somewhere. */
void test_json__reader_scans_strings_at_every_offset(void)
{
    static const struct {
        const char *in;   /* the special bytes */
        const char *out;  /* what the string holds there, or NULL: refused */
    } specials[] = {
        {"\xc3\xa9", "\xc3\xa9"},                 /* 2-byte UTF-8 */
        {"\xe2\x82\xac", "\xe2\x82\xac"},         /* 3-byte */
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"}, /* 4-byte */
        {"\\n", "\n"},
        {"\\u00e9", "\xc3\xa9"},
        {"\xff", NULL},
        {"\xc3", NULL},                           /* truncated sequence */
        {"\xed\xa0\x80", NULL},                   /* encoded surrogate */
        {"\x01", NULL},                           /* control character */
    };
    size_t s, pos;

    for (s = 0; s < sizeof specials / sizeof specials[0]; s++) {
        for (pos = 0; pos <= 40; pos++) {
            char doc[128], want[128];
            size_t n = 0, w = 0, k, tail = 40 - pos;
            zlmdb_json_reader r;
            zlmdb_json_item it;
            int rc;

            doc[n++] = '"';
            for (k = 0; k < pos; k++)
                doc[n++] = want[w++] = 'a';
            memcpy(doc + n, specials[s].in, strlen(specials[s].in));
            n += strlen(specials[s].in);
            if (specials[s].out) {
                memcpy(want + w, specials[s].out, strlen(specials[s].out));
                w += strlen(specials[s].out);
            }
            for (k = 0; k < tail; k++)
                doc[n++] = want[w++] = 'b';
            doc[n++] = '"';
            CHECK_OK(zlmdb_json_reader_init(&r, doc, n, 0));
            rc = zlmdb_json_reader_next(&r, &it);
            if (specials[s].out) {
                CHECK_OK(rc);
                CHECK(it.kind == ZLMDB_JSON_STRING && it.len == w);
                CHECK_MEM(it.str, want, w);
                CHECK_OK(zlmdb_json_reader_finish(&r));
            } else {
                CHECK(rc == ZLMDB_DECODE);
                CHECK(r.error_offset == 1 + pos);
            }
            zlmdb_json_reader_dispose(&r);
        }
    }
}
